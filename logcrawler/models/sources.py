"""Where logs come from: one row per source, holding its settings, token and cursor."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from config.validators import refuse_control_characters


class SourceKind(models.TextChoices):
    RAILWAY = "railway", "Railway"
    FILE = "file", "File"
    HTTP = "http", "HTTP ingest"


class SourceStatus(models.TextChoices):
    NEW = "new", "Never crawled"
    OK = "ok", "OK"
    ERROR = "error", "Error"
    RATE_LIMITED = "rate_limited", "Rate limited"


class LogSourceQuerySet(models.QuerySet["LogSource"]):
    def enabled(self) -> LogSourceQuerySet:
        return self.filter(enabled=True)

    def crawlable(self) -> LogSourceQuerySet:
        """Enabled sources that are pulled (HTTP ingest sources are pushed to)."""
        return self.enabled().exclude(kind=SourceKind.HTTP).order_by("name")


class LogSource(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[refuse_control_characters])
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    settings = models.JSONField(
        default=dict, blank=True, help_text="Kind-specific settings; see docs/logcrawler.md."
    )
    # Sent to the log provider, so stored as given; never rendered back by the admin or API.
    secret = models.CharField(max_length=500, blank=True, help_text="API token, write-only.")
    enabled = models.BooleanField(default=True)
    cursor = models.JSONField(default=dict, blank=True, help_text="Where the next crawl starts.")

    status = models.CharField(max_length=16, choices=SourceStatus.choices, default=SourceStatus.NEW)
    status_detail = models.CharField(max_length=500, blank=True)
    last_error = models.TextField(blank=True)
    retry_after = models.DateTimeField(
        null=True, blank=True, help_text="Rate limited: no crawl before this."
    )
    last_crawl_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_crawl_lines = models.PositiveIntegerField(default=0)
    lines_read = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects = LogSourceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # Adding and changing sources are Django's add_logsource and change_logsource.
        permissions = [("crawl_logsource", "Can crawl a log source now")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    def service_name(self) -> str:
        """The service its entries are filed under when a line names none."""
        return str(self.settings.get("service") or "")


class IngestBatch(models.Model):
    """One accepted HTTP ingest batch, by its Idempotency-Key, so a retry is not stored twice.

    A batch is stored a chunk per transaction; ``entries_done`` says how far, so a retry of a
    batch that failed part-way stores the rest, once. ``complete``: its answer is final.
    """

    source = models.ForeignKey(LogSource, on_delete=models.CASCADE, related_name="batches")
    key = models.CharField(max_length=200)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    response = models.JSONField(default=dict)
    entries_done = models.PositiveIntegerField(default=0)
    complete = models.BooleanField(default=True)
    # SHA-256 of what the key was first used for (type, service, body): a key reused for
    # another batch is refused, never answered with the first batch's result or mixed in.
    body_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="ingestbatch_source_key_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.key}"
