"""Findings that keep their identity across scans, what each scan saw, and their history."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from codehealth.models.repositories import Repository
from codehealth.models.scans import Scan


class FindingKind(models.TextChoices):
    LINT = "lint", "Lint"
    TYPE = "type", "Type"
    STALE = "stale", "Stale code"
    CONTRACT = "contract", "Contract drift"
    DEPENDENCY = "dependency", "Dependency"


class FindingSeverity(models.TextChoices):
    """Most severe first; SARIF levels: critical and high are errors, medium a warning,
    low and info notes."""

    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    INFO = "info", "Info"


SEVERITY_ORDER = [s.value for s in FindingSeverity]


class FindingState(models.TextChoices):
    OPEN = "open", "Open"
    FIXED = "fixed", "Fixed"
    REOPENED = "reopened", "Reopened"
    ACCEPTED = "accepted", "Accepted"
    FALSE_POSITIVE = "false_positive", "False positive"


# Findings that still count against the code: present, and nobody has ruled them out.
ACTIVE_STATES = (FindingState.OPEN, FindingState.REOPENED)
# Findings a scan expects to see again; the ones it misses are fixed. A false positive is
# remembered even while it is gone, so that it comes back as a false positive.
ALIVE_STATES = (FindingState.OPEN, FindingState.REOPENED, FindingState.ACCEPTED)


class FindingConfidence(models.TextChoices):
    """Blank (not a choice, so the API's enum has no empty member) when the tool does not
    say."""

    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


def no_evidence() -> list[str]:
    return []


class FixApplicability(models.TextChoices):
    SAFE = "safe", "Safe"
    UNSAFE = "unsafe", "Unsafe"
    DISPLAY = "display", "Display only"
    NONE = "", "No fix"


class FindingQuerySet(models.QuerySet["Finding"]):
    def active(self, now: datetime | None = None) -> FindingQuerySet:
        """Open or reopened, or accepted with an expiry that has passed."""
        now = now or timezone.now()
        return self.filter(
            Q(state__in=ACTIVE_STATES) | Q(state=FindingState.ACCEPTED, accepted_until__lte=now)
        )

    def alive(self) -> FindingQuerySet:
        return self.filter(state__in=ALIVE_STATES)

    def new_code(self) -> FindingQuerySet:
        return self.filter(is_new=True)


class Finding(models.Model):
    """One problem in one place, the same row from the scan that first saw it until it is
    fixed (and again if it comes back). ``fingerprint`` is sha256 of (tool, rule, path,
    anchor, occurrence); a finding matched by the fallback ladder takes the new one."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="findings")
    fingerprint = models.CharField(max_length=64)
    tool = models.CharField(max_length=50)
    rule = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=FindingKind.choices)
    severity = models.CharField(max_length=16, choices=FindingSeverity.choices)
    path = models.CharField(max_length=1000, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    end_line = models.PositiveIntegerField(null=True, blank=True)
    column = models.PositiveIntegerField(null=True, blank=True)
    symbol = models.CharField(max_length=500, blank=True, help_text="The enclosing symbol.")
    anchor = models.TextField(help_text="What places it: symbol + line text, package + id, ...")
    line_hash = models.CharField(max_length=40, blank=True)
    occurrence = models.PositiveIntegerField(default=0, help_text="Among identical tuples.")
    message = models.TextField()
    help_url = models.CharField(max_length=500, blank=True)
    fix_applicability = models.CharField(
        max_length=16, choices=FixApplicability.choices, blank=True, default=""
    )
    confidence = models.CharField(
        max_length=8,
        choices=FindingConfidence.choices,
        blank=True,
        default="",
        help_text="How sure the scanner is (stale code: high only where two kinds of "
        "evidence agree); blank when the tool does not say.",
    )
    evidence = models.JSONField(
        default=no_evidence, blank=True, help_text="Why the scanner believes it (sentences)."
    )

    state = models.CharField(
        max_length=16, choices=FindingState.choices, default=FindingState.OPEN, db_index=True
    )
    state_reason = models.TextField(blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_changed_by = models.CharField(max_length=150, blank=True)
    accepted_until = models.DateTimeField(null=True, blank=True)
    is_new = models.BooleanField(
        default=False, help_text="Its line came after the repository's baseline commit."
    )
    from_ruleset_change = models.BooleanField(
        default=False, help_text="First seen when its tool's version or configuration changed."
    )
    first_seen_scan = models.ForeignKey(
        Scan, null=True, on_delete=models.SET_NULL, related_name="first_findings"
    )
    last_seen_scan = models.ForeignKey(
        Scan, null=True, on_delete=models.SET_NULL, related_name="last_findings"
    )
    fixed_in_scan = models.ForeignKey(
        Scan, null=True, blank=True, on_delete=models.SET_NULL, related_name="fixed_findings"
    )
    task = models.ForeignKey(
        "engine.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["path", "line", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "fingerprint"], name="finding_repo_fingerprint_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["repository", "state", "severity"], name="finding_state_idx"),
            models.Index(fields=["repository", "tool", "rule"], name="finding_rule_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.tool}:{self.rule} {self.path}:{self.line}"


class FindingOccurrence(models.Model):
    """A finding as one scan saw it: where it stood and what the tool said then. The rows
    of a scan are its results (the trend, the SARIF export, a reused scan's input)."""

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="occurrences")
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="occurrences")
    severity = models.CharField(max_length=16, choices=FindingSeverity.choices)
    path = models.CharField(max_length=1000, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    end_line = models.PositiveIntegerField(null=True, blank=True)
    column = models.PositiveIntegerField(null=True, blank=True)
    symbol = models.CharField(max_length=500, blank=True)
    anchor = models.TextField()
    line_hash = models.CharField(max_length=40, blank=True)
    occurrence = models.PositiveIntegerField(default=0)
    message = models.TextField()
    help_url = models.CharField(max_length=500, blank=True)
    fix = models.JSONField(null=True, blank=True, help_text="The tool's fix, as it gave it.")
    confidence = models.CharField(
        max_length=8, choices=FindingConfidence.choices, blank=True, default=""
    )
    evidence = models.JSONField(default=no_evidence, blank=True)

    class Meta:
        ordering = ["scan", "path", "line", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "finding"], name="occurrence_scan_uniq")
        ]

    def __str__(self) -> str:
        return f"scan {self.scan_id}: finding {self.finding_id}"


class FindingEvent(models.Model):
    """One change of a finding's state after it was first seen: by a scan or a person."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="events")
    scan = models.ForeignKey(Scan, null=True, blank=True, on_delete=models.SET_NULL)
    from_state = models.CharField(max_length=16, choices=FindingState.choices)
    to_state = models.CharField(max_length=16, choices=FindingState.choices)
    actor = models.CharField(max_length=150)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.finding_id}: {self.from_state} → {self.to_state} by {self.actor}"
