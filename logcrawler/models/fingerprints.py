"""Log entries, the fingerprints they group into, and per-minute occurrence counts."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from logcrawler.levels import Level
from logcrawler.models.sources import LogSource


class FingerprintState(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    MUTED = "muted", "Muted"
    REGRESSED = "regressed", "Regressed"


class FingerprintKind(models.TextChoices):
    MESSAGE = "message", "Message"
    TRACEBACK = "traceback", "Traceback"
    HTTP = "http", "HTTP access"


# "Errors" on the page and in the tools: ERROR or worse (WARNING on request).
ERROR_LEVEL_NO = 40
WARNING_LEVEL_NO = 30


class ErrorFingerprintQuerySet(models.QuerySet["ErrorFingerprint"]):
    def errors(self, *, min_level_no: int = ERROR_LEVEL_NO) -> ErrorFingerprintQuerySet:
        return self.filter(level_no__gte=min_level_no)

    def http(self) -> ErrorFingerprintQuerySet:
        return self.filter(kind=FingerprintKind.HTTP)


class ErrorFingerprint(models.Model):
    """A template group: the same line always lands on the same row, across restarts."""

    id = models.CharField(max_length=32, primary_key=True, help_text="The fingerprinter's id.")
    kind = models.CharField(max_length=16, choices=FingerprintKind.choices)
    service = models.CharField(max_length=100, blank=True)
    template = models.TextField()
    status_class = models.CharField(max_length=3, blank=True, help_text="HTTP: 2xx ... 5xx.")
    level = models.CharField(max_length=10, choices=Level.choices, blank=True)
    level_no = models.PositiveSmallIntegerField(default=0)
    sample_message = models.TextField(blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    total_count = models.PositiveBigIntegerField(default=0)

    state = models.CharField(
        max_length=16, choices=FingerprintState.choices, default=FingerprintState.NEW
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_changed_by = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    regressed_at = models.DateTimeField(null=True, blank=True)
    task = models.ForeignKey(
        "engine.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The fingerprinter's group (template tokens and every key it has seen), so that a
    # restarted process assigns the same ids; `group_version` is the store version that
    # last wrote it.
    group = models.JSONField(default=dict, blank=True)
    group_version = models.PositiveBigIntegerField(default=0)
    group_order = models.PositiveBigIntegerField(default=0, help_text="Creation order.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ErrorFingerprintQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen"]
        # Granted through groups (docs/security.md); acknowledging needs none.
        permissions = [
            ("mute_fingerprint", "Can mute and unmute error groups"),
            ("resolve_fingerprint", "Can resolve error groups and alerts"),
        ]
        indexes = [
            models.Index(fields=["last_seen"], name="fingerprint_last_seen_idx"),
            models.Index(fields=["level_no", "last_seen"], name="fingerprint_level_idx"),
            models.Index(fields=["service", "kind"], name="fingerprint_service_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.template[:80]}"

    @property
    def is_open(self) -> bool:
        return self.state in (FingerprintState.NEW, FingerprintState.REGRESSED)

    @property
    def headline(self) -> str:
        """One line that says what happened: a traceback's exception line, else the first."""
        lines = [line for line in self.sample_message.splitlines() if line.strip()]
        if not lines:
            return ""
        return lines[-1].strip() if self.kind == FingerprintKind.TRACEBACK else lines[0]


class LogEntryQuerySet(models.QuerySet["LogEntry"]):
    def older_than(self, ts: datetime, pk: int) -> LogEntryQuerySet:
        return self.filter(Q(ts__lt=ts) | Q(ts=ts, pk__lt=pk))


class LogEntry(models.Model):
    # No database constraint on either key: PostgreSQL checks deferred foreign keys at
    # commit, one lookup per row per key, which cost ingest a fifth of its time. Only the
    # ingest pipeline writes entries, with the fingerprint upserted in the same transaction;
    # deleting a source or fingerprint still deletes its entries (Django cascades).
    source = models.ForeignKey(
        LogSource,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    ts = models.DateTimeField()
    level = models.CharField(max_length=10, choices=Level.choices, blank=True)
    service = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    attributes = models.JSONField(default=dict, blank=True)
    fingerprint = models.ForeignKey(
        ErrorFingerprint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="entries",
        db_index=False,  # the (fingerprint, ts) index serves it
        db_constraint=False,
    )

    objects = LogEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-ts", "-id"]
        verbose_name_plural = "log entries"
        indexes = [
            models.Index(fields=["ts", "id"], name="logentry_ts_idx"),
            models.Index(fields=["fingerprint", "ts"], name="logentry_fingerprint_idx"),
            models.Index(fields=["service", "ts"], name="logentry_service_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.level} {self.message[:80]}"

    @property
    def first_line(self) -> str:
        return self.message.split("\n", 1)[0]

    @property
    def is_multiline(self) -> bool:
        return "\n" in self.message

    @property
    def last_line(self) -> str:
        return self.message.rstrip().rsplit("\n", 1)[-1].strip()

    @property
    def line_count(self) -> int:
        return self.message.count("\n") + 1


class ErrorOccurrence(models.Model):
    """How many entries of one fingerprint arrived in one minute (by the entries' time)."""

    fingerprint = models.ForeignKey(
        ErrorFingerprint, on_delete=models.CASCADE, related_name="occurrences"
    )
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-minute"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint", "minute"], name="occurrence_fingerprint_minute_uniq"
            )
        ]
        indexes = [models.Index(fields=["minute"], name="occurrence_minute_idx")]

    def __str__(self) -> str:
        return f"{self.fingerprint_id} {self.minute:%Y-%m-%d %H:%M}: {self.count}"


def _new_epoch() -> str:
    return uuid.uuid4().hex


class FingerprinterState(models.Model):
    """One row: the version of the stored groups. Ingest batches lock it, which serialises
    them, and a process whose groups are older than the version reloads them."""

    epoch = models.CharField(max_length=32, default=_new_epoch)
    version = models.PositiveBigIntegerField(default=0)
    groups = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"fingerprinter groups v{self.version}"
