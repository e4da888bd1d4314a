"""Alert rules (edited in the admin) and the alerts they open."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from logcrawler.levels import Level
from logcrawler.models.fingerprints import ErrorFingerprint


class RuleKind(models.TextChoices):
    NEW_FINGERPRINT = "new_fingerprint", "New fingerprint"
    SPIKE = "spike", "Spike"
    SUSTAINED_5XX = "sustained_5xx", "Sustained 5xx"


class Severity(models.TextChoices):
    AUTO = "auto", "From the fingerprint's level"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class AlertRule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    enabled = models.BooleanField(default=True)
    service = models.CharField(max_length=100, blank=True, help_text="Blank: every service.")
    min_level = models.CharField(
        max_length=10,
        choices=Level.choices,
        default=Level.ERROR,
        help_text="New fingerprint and spike: only fingerprints at or above this level.",
    )
    window_minutes = models.PositiveIntegerField(
        default=5, help_text="Spike and 5xx: the window measured at each evaluation."
    )
    baseline_minutes = models.PositiveIntegerField(
        default=60, help_text="Spike: the window before it that sets the normal rate."
    )
    factor = models.FloatField(
        default=3.0, help_text="Spike: the last window's count must be at least this x baseline."
    )
    min_count = models.PositiveIntegerField(
        default=10,
        help_text="Spike: at least this many in the window. 5xx: at least this many requests.",
    )
    threshold_share = models.FloatField(
        default=0.05, help_text="5xx: fire when this share of requests (0-1) failed; 0 = off."
    )
    threshold_count = models.PositiveIntegerField(
        default=0, help_text="5xx: or when at least this many failed; 0 = off."
    )
    for_minutes = models.PositiveIntegerField(
        default=5, help_text="5xx: pending this long, true at every evaluation, before firing."
    )
    hold_minutes = models.PositiveIntegerField(
        default=10, help_text="Spike and 5xx: stay firing until clear this long (no flapping)."
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.AUTO)
    create_task = models.BooleanField(default=True, help_text="Open an engine task on firing.")
    send_webhook = models.BooleanField(default=True, help_text="POST to the webhook if set.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == RuleKind.SPIKE:
            if self.factor < 1:
                errors["factor"] = "A spike is at least 1x the baseline."
            if not self.window_minutes or not self.baseline_minutes:
                errors["window_minutes"] = "Both windows must be at least a minute."
        if self.kind == RuleKind.SUSTAINED_5XX:
            if not self.threshold_share and not self.threshold_count:
                errors["threshold_share"] = "Set a share, a count, or both."
            if not 0 <= self.threshold_share <= 1:
                errors["threshold_share"] = "A share is between 0 and 1."
            if not self.window_minutes:
                errors["window_minutes"] = "The window must be at least a minute."
        if errors:
            raise ValidationError(errors)


class AlertState(models.TextChoices):
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


OPEN_ALERT_STATES = (AlertState.PENDING, AlertState.FIRING)


class AlertQuerySet(models.QuerySet["Alert"]):
    def open(self) -> AlertQuerySet:
        return self.filter(state__in=OPEN_ALERT_STATES)


class Alert(models.Model):
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.ForeignKey(
        ErrorFingerprint, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    # What the alert is about: a fingerprint id, or "5xx:<service>" for a service-wide rule.
    subject = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    reason = models.CharField(max_length=30, help_text="new, regressed, spike or sustained_5xx")
    state = models.CharField(max_length=10, choices=AlertState.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    value = models.FloatField(default=0, help_text="What the rule measured last.")
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_true_at = models.DateTimeField(null=True, blank=True)
    task = models.ForeignKey(
        "engine.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    webhook_status = models.CharField(max_length=300, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=Q(state__in=["pending", "firing"]),
                name="alert_one_open_per_rule_subject",
            )
        ]
        indexes = [models.Index(fields=["state", "opened_at"], name="alert_state_idx")]

    def __str__(self) -> str:
        return f"[{self.state}] {self.title}"
