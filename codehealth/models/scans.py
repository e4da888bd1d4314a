"""Scans of a repository at a commit, and each tool's run within a scan."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from codehealth.models.repositories import Repository


class ScanStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


FINISHED_SCAN_STATUSES = (ScanStatus.DONE, ScanStatus.FAILED)


class ScanQuerySet(models.QuerySet["Scan"]):
    def done(self) -> ScanQuerySet:
        return self.filter(status=ScanStatus.DONE)

    def unfinished(self) -> ScanQuerySet:
        return self.filter(status__in=[ScanStatus.QUEUED, ScanStatus.RUNNING])

    def latest_done(self, repository: Repository) -> Scan | None:
        return self.done().filter(repository=repository).order_by("-finished_at", "-id").first()


def empty_counts() -> dict[str, Any]:
    return {}


def no_notes() -> list[str]:
    return []


class Scan(models.Model):
    """One scan of a repository at a commit. Counts are by severity:
    ``{"new": {...}, "fixed": {...}, "reopened": {...}, "open": {...}, "new_code": {...},
    "ruleset": {...}}``; see docs/codehealth.md."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="scans")
    commit = models.CharField(max_length=64, blank=True, help_text="Resolved when it starts.")
    ref = models.CharField(max_length=200, blank=True, help_text="What was asked for.")
    baseline = models.CharField(max_length=64, blank=True, help_text="The new-code baseline.")
    status = models.CharField(
        max_length=16, choices=ScanStatus.choices, default=ScanStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent.")
    phase = models.CharField(max_length=200, blank=True, help_text="What it is doing now.")
    counts = models.JSONField(default=empty_counts, blank=True)
    notes = models.JSONField(
        default=no_notes,
        blank=True,
        help_text="What the scan could not read or import, and why (a list of sentences).",
    )
    error = models.TextField(blank=True)
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reused_by"
    )
    task = models.ForeignKey(
        "engine.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triggered_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["repository", "status", "commit"], name="scan_repo_idx")]

    def __str__(self) -> str:
        return f"scan #{self.pk} of {self.repository_id} at {self.commit[:10] or self.ref}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_SCAN_STATUSES

    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def new_total(self) -> int:
        return self.count("new")

    @property
    def fixed_total(self) -> int:
        return self.count("fixed")

    @property
    def reopened_total(self) -> int:
        return self.count("reopened")

    @property
    def ruleset_total(self) -> int:
        return self.count("ruleset")

    def count(self, bucket: str, severity: str | None = None) -> int:
        by_severity = self.counts.get(bucket) or {}
        if severity is not None:
            return int(by_severity.get(severity, 0))
        return sum(int(n) for n in by_severity.values())


class ToolRunStatus(models.TextChoices):
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class ToolRunOrigin(models.TextChoices):
    SCANNER = "scanner", "Ran here"
    HOST = "host", "Reported by the code host"


class ToolRun(models.Model):
    """One scanner's run within a scan (or one tool the code host reported on: a CI job,
    a SARIF upload, alerts): what ran, how it went, and whether its rule set changed since
    the repository's previous scan (a version or configuration change)."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="tool_runs")
    tool = models.CharField(max_length=50)
    version = models.CharField(max_length=100, blank=True)
    config_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=ToolRunStatus.choices)
    exit_code = models.IntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=500, blank=True)
    findings = models.PositiveIntegerField(default=0)
    ruleset_changed = models.BooleanField(
        default=False, help_text="Version or configuration differs from the previous scan."
    )
    previous_version = models.CharField(max_length=100, blank=True)
    previous_config_hash = models.CharField(max_length=64, blank=True)
    origin = models.CharField(
        max_length=16, choices=ToolRunOrigin.choices, default=ToolRunOrigin.SCANNER
    )
    partial = models.TextField(
        blank=True,
        help_text="Why its results may be incomplete (capped); its unseen findings are then "
        "left as they were, not fixed.",
    )
    source_url = models.CharField(
        max_length=500, blank=True, help_text="Where the host shows the original."
    )

    class Meta:
        ordering = ["scan", "tool"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "tool"], name="toolrun_scan_tool_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.tool} {self.version} ({self.status})"
