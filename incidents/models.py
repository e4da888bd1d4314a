"""Incidents: one row per problem, from its first alert to its verification, with a history.

An incident gathers the error groups (logcrawler fingerprints) behind a problem, the alerts
about them, the agent tasks and chat sessions that investigated it and the auto-PRs proposed
to fix it. Its state changes only in `incidents.services.lifecycle`, one `IncidentEvent` row
per change, naming the actor.
"""

from __future__ import annotations

from django.db import models
from django.db.models import CharField, F, Func, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from routing.models import ZERO, ModelCall, money_field


class IncidentState(models.TextChoices):
    OPEN = "open", "Open"
    INVESTIGATING = "investigating", "Investigating"
    FIX_PROPOSED = "fix_proposed", "Fix proposed"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    FIX_APPLIED = "fix_applied", "Fix applied"
    VERIFYING = "verifying", "Verifying"
    VERIFIED = "verified", "Verified"
    DISMISSED = "dismissed", "Dismissed"
    REGRESSED = "regressed", "Regressed"


CLOSED_STATES = (IncidentState.VERIFIED, IncidentState.DISMISSED)

# Every change a state may make; `dismissed` is reachable from every state not closed.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    IncidentState.OPEN: (IncidentState.INVESTIGATING, IncidentState.FIX_APPLIED),
    IncidentState.INVESTIGATING: (
        IncidentState.FIX_PROPOSED,
        IncidentState.FIX_APPLIED,
        IncidentState.OPEN,
    ),
    IncidentState.FIX_PROPOSED: (IncidentState.AWAITING_APPROVAL, IncidentState.INVESTIGATING),
    IncidentState.AWAITING_APPROVAL: (IncidentState.FIX_APPLIED, IncidentState.INVESTIGATING),
    IncidentState.FIX_APPLIED: (IncidentState.VERIFYING,),
    IncidentState.VERIFYING: (IncidentState.VERIFIED, IncidentState.REGRESSED),
    IncidentState.VERIFIED: (IncidentState.REGRESSED,),
    IncidentState.REGRESSED: (IncidentState.INVESTIGATING, IncidentState.FIX_APPLIED),
    IncidentState.DISMISSED: (),
}


class IncidentSource(models.TextChoices):
    LOGCRAWLER = "logcrawler", "Log alert"
    SELFHEAL = "selfheal", "Self-heal finding"
    CODEHEALTH = "codehealth", "Code-health finding"
    MANUAL = "manual", "Opened by a person"


class IncidentQuerySet(models.QuerySet["Incident"]):
    def not_closed(self) -> IncidentQuerySet:
        return self.exclude(state__in=CLOSED_STATES)

    def for_list(self) -> IncidentQuerySet:
        return self.with_cost().prefetch_related("fingerprints").order_by("-updated_at", "-id")

    def with_cost(self) -> IncidentQuerySet:
        """Each incident with `cost`: what its agent runs' model calls cost so far (routing's
        ledger names a chat session `chat:<id>`), in the incidents' own query."""
        refs = Incident.sessions.through.objects.filter(
            incident_id=OuterRef(OuterRef("pk"))
        ).values(ref=Concat(Value("chat:"), Cast("chatsession_id", CharField())))
        spent = (
            ModelCall.objects.filter(session_ref__in=Subquery(refs))
            .order_by()
            .annotate(total=Func(F("cost"), function="SUM"))
            .values("total")[:1]
        )
        return self.annotate(
            cost=Coalesce(Subquery(spent), Value(ZERO), output_field=money_field())
        )


class Incident(models.Model):
    title = models.CharField(max_length=300)
    source = models.CharField(max_length=20, choices=IncidentSource.choices)
    state = models.CharField(
        max_length=20, choices=IncidentState.choices, default=IncidentState.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, help_text="Last activity.")
    fingerprints = models.ManyToManyField(
        "logcrawler.ErrorFingerprint", blank=True, related_name="incidents"
    )
    alerts = models.ManyToManyField("logcrawler.Alert", blank=True, related_name="incidents")
    tasks = models.ManyToManyField("engine.Task", blank=True, related_name="incidents")
    sessions = models.ManyToManyField("chat.ChatSession", blank=True, related_name="incidents")
    autoprs = models.ManyToManyField("codehealth.AutoPR", blank=True, related_name="incidents")
    findings = models.ManyToManyField(
        "codehealth.Finding",
        blank=True,
        related_name="incidents",
        help_text="Code-health findings a person escalated into it.",
    )
    source_key = models.CharField(
        max_length=200,
        blank=True,
        db_index=True,
        help_text="What opened it, when no row holds it: `selfheal:<pattern key>`.",
    )
    investigation = models.ForeignKey(
        "engine.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The agent task investigating it now (or last).",
    )
    fix = models.ForeignKey(
        "codehealth.AutoPR",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The proposed fix being approved, applied or verified.",
    )
    triage = models.TextField(blank=True, help_text="The written triage (record_finding).")
    triage_data = models.JSONField(default=dict, blank=True)
    offline = models.BooleanField(
        default=False, help_text="The triage was written by the offline rules, not a model."
    )
    waiting_reason = models.CharField(
        max_length=300, blank=True, help_text="Why it waits, and for whom; blank when not."
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_note = models.TextField(blank=True)
    verify_until = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    dismissed_reason = models.TextField(blank=True)
    regressions = models.PositiveIntegerField(default=0)
    demo = models.BooleanField(default=False, help_text="Seeded demo data.")

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["state", "updated_at"], name="incident_state_idx")]
        permissions = [
            ("investigate_incident", "Can investigate incidents (record findings, propose fixes)"),
            ("decide_incident", "Can dismiss incidents and mark their fixes applied"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} [{self.state}] {self.title}"

    @property
    def closed(self) -> bool:
        return self.state in CLOSED_STATES


class IncidentEvent(models.Model):
    """One change of an incident: a state change (from, to) or a note (from == to)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.CharField(max_length=150)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(to_state=""), name="incident_event_has_state")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.from_state} -> {self.to_state} by {self.actor}"
