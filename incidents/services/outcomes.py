"""What an investigation ends with: a written triage, or a fix proposed to a person.

Both are written as history rows naming the task whose run produced them, which is how
the investigation executor knows its run ended with an outcome (and may be `done`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from codehealth.models import AutoPR, Repository
from codehealth.services import propose_patch
from engine.models import Task
from incidents.errors import InvalidTransition, NotAllowed
from incidents.models import Incident, IncidentEvent, IncidentState
from incidents.services.lifecycle import change_state, lock_incident, record
from selfheal.repairs import request_repair

INVESTIGATE_PERMISSION = "incidents.investigate_incident"
OPEN_FOR_FINDINGS = (IncidentState.INVESTIGATING, IncidentState.OPEN, IncidentState.REGRESSED)


def check_may_investigate(user: User | None) -> None:
    if user is None or not user.is_active or not user.has_perm(INVESTIGATE_PERMISSION):
        raise NotAllowed(f"investigating an incident needs the {INVESTIGATE_PERMISSION} permission")


def run_outcome(incident_id: int, task_id: int) -> str:
    """The outcome ('triage', 'patch') the task's run recorded for the incident, or ''."""
    event = (
        IncidentEvent.objects.filter(incident_id=incident_id, data__task=task_id)
        .filter(data__has_key="outcome")
        .order_by("-id")
        .first()
    )
    return str(event.data.get("outcome", "")) if event is not None else ""


@transaction.atomic
def record_finding(
    *,
    incident_id: int,
    triage: str,
    actor: str,
    data: dict[str, Any] | None = None,
    task_id: int | None = None,
    offline: bool = False,
    waiting_reason: str = "",
) -> Incident:
    """Write the triage; the incident then waits for a person (unless a fix is on its way)."""
    incident = lock_incident(incident_id)
    if incident.state not in OPEN_FOR_FINDINGS:
        raise InvalidTransition(
            f"incident {incident_id} is {incident.state}: its triage is written"
        )
    incident.triage = triage
    incident.triage_data = data or {}
    incident.offline = offline
    incident.waiting_reason = waiting_reason or "a triage is written: waiting for a person"
    incident.save(update_fields=["triage", "triage_data", "offline", "waiting_reason"])
    record(
        incident,
        actor=actor,
        note=("offline triage" if offline else "triage") + ": " + triage[:500],
        data={"outcome": "triage", "task": task_id, "offline": offline},
    )
    return incident


@transaction.atomic
def propose_fix(
    *,
    incident_id: int,
    repository: Repository,
    diff: str,
    title: str,
    actor: str,
    user: User | None,
    description: str = "",
    task_id: int | None = None,
) -> AutoPR:
    """A unified diff through code health's auto-PRs (a branch, tested, waiting for a
    person to merge it); the incident is then awaiting that approval."""
    incident = lock_incident(incident_id)
    if incident.state not in OPEN_FOR_FINDINGS:
        raise InvalidTransition(f"incident {incident_id} is {incident.state}; no fix now")
    autopr = propose_patch(
        repository=repository,
        diff=diff,
        title=title,
        name=f"incident-{incident.pk}-{incident.regressions + 1}",
        description=f"Incident #{incident.pk}: {incident.title}\n\n{description}",
        actor=actor,
        created_by=user,
    )
    incident.autoprs.add(autopr)
    data = {"outcome": "patch", "task": task_id, "autopr": autopr.pk}
    if incident.state != IncidentState.INVESTIGATING:
        change_state(incident, IncidentState.INVESTIGATING, actor=actor)
    change_state(
        incident, IncidentState.FIX_PROPOSED, actor=actor, note=title, data=data, fix=autopr
    )
    change_state(
        incident,
        IncidentState.AWAITING_APPROVAL,
        actor=actor,
        note=f"auto-PR #{autopr.pk} waits for a person to merge or reject it",
        data={"autopr": autopr.pk},
        waiting_reason=f"auto-PR #{autopr.pk} waits for a person's approval",
    )
    return autopr


@transaction.atomic
def propose_repair(
    *, incident_id: int, reason: str, actor: str, user: User | None, task_id: int | None = None
) -> Task:
    """A self-heal repair, asked for as `user` (the investigator, who may not repair): the
    repair's task waits for a person to approve it, and the incident awaits that approval.
    The approved repair, once run, applies the fix (`verification.apply_repair`)."""
    incident = lock_incident(incident_id)
    if incident.state not in OPEN_FOR_FINDINGS:
        raise InvalidTransition(f"incident {incident_id} is {incident.state}; no fix now")
    repair = request_repair(
        user=user,
        actor=actor,
        reason=f"incident #{incident.pk}: {reason}",
        context={"incident": incident.pk},
        dedupe_key=f"incident:{incident.pk}:repair",
    )
    incident.tasks.add(repair)
    if incident.state != IncidentState.INVESTIGATING:
        change_state(incident, IncidentState.INVESTIGATING, actor=actor)
    change_state(
        incident,
        IncidentState.FIX_PROPOSED,
        actor=actor,
        note=f"repair proposed: {reason}",
        data={"outcome": "repair", "task": task_id, "repair_task": repair.pk},
        fix=None,
    )
    change_state(
        incident,
        IncidentState.AWAITING_APPROVAL,
        actor=actor,
        note=f"self-heal repair engine.task#{repair.pk} waits for a person to approve it",
        data={"repair_task": repair.pk},
        waiting_reason=f"self-heal repair engine.task#{repair.pk} waits for a person's approval",
    )
    return repair
