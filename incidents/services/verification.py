"""Applying a fix and verifying it: the verifier's pass (a django-q2 schedule).

The rule: once a fix is applied, the incident is `verifying` for a window that scales with
how often its errors used to occur. A group's usual gap is its span (first to last seen)
over its occurrences less one; the window is `INCIDENTS_VERIFY_GAP_FACTOR` times the
largest usual gap of the incident's groups, held within `INCIDENTS_VERIFY_MIN_MINUTES` and
`INCIDENTS_VERIFY_MAX_MINUTES`. Quiet for the whole window: `verified`, its groups
resolved (which resolves their open alerts). Any occurrence after the fix landed, during
verification or after it: `regressed`, the same incident, investigated again.

A pass reads every verifying and recently verified incident's groups in one query, so its
cost grows with what changes, not with how many incidents are open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from codehealth.models import AutoPRState
from engine.models import UNFINISHED_STATES, TaskState
from engine.services.history import user_actor
from incidents.errors import InvalidTransition, NotAllowed
from incidents.models import Incident, IncidentState
from incidents.services.intake import ensure_investigation, regress, start_waiting
from incidents.services.lifecycle import (
    SYSTEM_ACTOR,
    VERIFIER_ACTOR,
    change_state,
    lock_incident,
)
from logcrawler.models import ErrorFingerprint
from logcrawler.services.fingerprints import set_fingerprint_state
from selfheal.models import ExecutionState, PlaybookExecution
from selfheal.repairs import REPAIR_KIND

DECIDE_PERMISSION = "incidents.decide_incident"
APPLICABLE = (
    IncidentState.OPEN,
    IncidentState.INVESTIGATING,
    IncidentState.FIX_PROPOSED,
    IncidentState.AWAITING_APPROVAL,
    IncidentState.REGRESSED,
)


def usual_gap(group: ErrorFingerprint) -> timedelta:
    span = group.last_seen - group.first_seen
    return span / max(group.total_count - 1, 1)


def verification_window(groups: list[ErrorFingerprint]) -> timedelta:
    shortest = timedelta(minutes=settings.INCIDENTS_VERIFY_MIN_MINUTES)
    longest = timedelta(minutes=settings.INCIDENTS_VERIFY_MAX_MINUTES)
    gap = max((usual_gap(g) for g in groups), default=timedelta(0))
    return min(max(gap * settings.INCIDENTS_VERIFY_GAP_FACTOR, shortest), longest)


def check_may_decide(user: User | None) -> None:
    if user is None or not user.is_active or not user.has_perm(DECIDE_PERMISSION):
        raise NotAllowed(f"this needs the {DECIDE_PERMISSION} permission")


def _apply(incident: Incident, *, actor: str, note: str, now: datetime) -> None:
    """fix_applied, then verifying with its window (the caller holds the row)."""
    window = verification_window(list(incident.fingerprints.all()))
    change_state(
        incident,
        IncidentState.FIX_APPLIED,
        actor=actor,
        note=note,
        data={"fix": incident.fix_id},
        applied_at=now,
        applied_note=note,
        waiting_reason="",
    )
    change_state(
        incident,
        IncidentState.VERIFYING,
        actor=VERIFIER_ACTOR,
        note=f"verified if its groups stay quiet until {now + window:%Y-%m-%d %H:%M} UTC "
        f"({int(window.total_seconds() // 60)} min)",
        data={"window_seconds": int(window.total_seconds())},
        verify_until=now + window,
    )


@transaction.atomic
def mark_applied(*, incident_id: int, user: User, note: str = "") -> Incident:
    """A person says the fix is in (applied by hand, a repair they ran): verify it."""
    check_may_decide(user)
    incident = lock_incident(incident_id)
    if incident.state not in APPLICABLE:
        raise InvalidTransition(f"incident {incident_id} is {incident.state}; nothing to apply")
    _apply(incident, actor=user_actor(user), note=note or "marked applied", now=timezone.now())
    return incident


@transaction.atomic
def dismiss(*, incident_id: int, user: User, reason: str) -> Incident:
    check_may_decide(user)
    incident = lock_incident(incident_id)
    change_state(
        incident,
        IncidentState.DISMISSED,
        actor=user_actor(user),
        note=reason,
        dismissed_reason=reason,
        waiting_reason="",
    )
    return incident


def apply_repair(execution: PlaybookExecution, payload: dict[str, Any]) -> None:
    """Self-heal's repair listener: the approved repair an investigation proposed ran. Done,
    it is the incident's fix applied, as a merged auto-PR is; else back to a person."""
    incident_id = payload.get("incident")
    if not isinstance(incident_id, int):
        return
    actor = f"system:selfheal-execution-{execution.pk}"
    with transaction.atomic():
        incident = lock_incident(incident_id)
        if incident.state != IncidentState.AWAITING_APPROVAL:
            return
        if execution.state == ExecutionState.DONE and not execution.dry_run:
            _apply(
                incident,
                actor=actor,
                note=f"self-heal repair execution #{execution.pk} done",
                now=timezone.now(),
            )
            return
        change_state(
            incident,
            IncidentState.INVESTIGATING,
            actor=actor,
            note=f"self-heal repair execution #{execution.pk} {execution.state}",
            waiting_reason=f"the repair was {execution.state}: waiting for a person",
        )


def sync_repairs() -> list[int]:
    """Incidents whose proposed repair a person rejected, or which failed before it ran
    (its approver may not repair), go back to a person."""
    moved = []
    ended = (
        Incident.objects.filter(
            state=IncidentState.AWAITING_APPROVAL,
            fix=None,
            tasks__kind=REPAIR_KIND,
            tasks__state__in=[TaskState.CANCELLED, TaskState.FAILED],
        )
        .exclude(tasks__kind=REPAIR_KIND, tasks__state__in=UNFINISHED_STATES)
        .distinct()
        .values_list("pk", flat=True)
    )
    for incident_id in list(ended):
        with transaction.atomic():
            incident = lock_incident(incident_id)
            if incident.state != IncidentState.AWAITING_APPROVAL:
                continue
            change_state(
                incident,
                IncidentState.INVESTIGATING,
                actor=SYSTEM_ACTOR,
                note="the proposed self-heal repair was rejected or failed before it ran",
                waiting_reason="the proposed repair did not run: waiting for a person",
            )
        moved.append(incident_id)
    return moved


def sync_fixes(now: datetime) -> list[int]:
    """Incidents whose auto-PR a person merged are applied; rejected or failed ones go
    back to a person."""
    moved = []
    waiting = Incident.objects.filter(
        state=IncidentState.AWAITING_APPROVAL,
        fix__state__in=[AutoPRState.MERGED, AutoPRState.REJECTED, AutoPRState.FAILED],
    ).values_list("pk", flat=True)
    for incident_id in list(waiting):
        with transaction.atomic():
            incident = lock_incident(incident_id)
            fix = incident.fix
            if incident.state != IncidentState.AWAITING_APPROVAL or fix is None:
                continue
            if fix.state == AutoPRState.MERGED:
                _apply(
                    incident, actor=f"codehealth:autopr-{fix.pk}", note="auto-PR merged", now=now
                )
            else:
                change_state(
                    incident,
                    IncidentState.INVESTIGATING,
                    actor=f"codehealth:autopr-{fix.pk}",
                    note=f"auto-PR #{fix.pk} {fix.state}",
                    waiting_reason=f"the proposed fix was {fix.state}: waiting for a person",
                )
        moved.append(incident_id)
    return moved


def _came_back() -> set[int]:
    """Verifying or verified incidents with an occurrence after their fix landed: one query."""
    through = Incident.fingerprints.through
    return set(
        through.objects.filter(
            incident__state__in=[IncidentState.VERIFYING, IncidentState.VERIFIED],
            errorfingerprint__last_seen__gt=F("incident__applied_at"),
        ).values_list("incident_id", flat=True)
    )


@dataclass
class VerifierReport:
    applied: list[int] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)
    regressed: list[int] = field(default_factory=list)
    started: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[int]]:
        return {
            "applied": self.applied,
            "verified": self.verified,
            "regressed": self.regressed,
            "started": self.started,
        }


def _verify(incident_id: int, now: datetime) -> bool:
    with transaction.atomic():
        incident = lock_incident(incident_id)
        if incident.state != IncidentState.VERIFYING:
            return False
        change_state(
            incident,
            IncidentState.VERIFIED,
            actor=VERIFIER_ACTOR,
            note="its groups stayed quiet for the whole window",
            verified_at=now,
            waiting_reason="",
        )
        for group_id in incident.fingerprints.values_list("pk", flat=True):
            set_fingerprint_state(
                fingerprint_id=group_id, action="resolve", actor=VERIFIER_ACTOR, now=now
            )
    return True


def _regress(incident_id: int) -> bool:
    with transaction.atomic():
        incident = lock_incident(incident_id)
        if incident.state not in (IncidentState.VERIFYING, IncidentState.VERIFIED):
            return False
        regress(incident, actor=VERIFIER_ACTOR, note="the error came back after the fix")
    ensure_investigation(incident)
    return True


def verify_pass(*, now: datetime | None = None) -> VerifierReport:
    """One pass of the verifier: merged fixes applied (rejected ones and repairs back to a
    person), verifications ended either way,
    waiting investigations started."""
    now = now or timezone.now()
    report = VerifierReport(applied=sync_fixes(now))
    sync_repairs()
    came_back = _came_back()
    report.regressed = [pk for pk in sorted(came_back) if _regress(pk)]
    due = Incident.objects.filter(state=IncidentState.VERIFYING, verify_until__lte=now)
    report.verified = [
        pk for pk in due.values_list("pk", flat=True) if pk not in came_back and _verify(pk, now)
    ]
    report.started = start_waiting(now=now)
    return report
