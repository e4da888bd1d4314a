"""From a firing alert to an incident, and from an incident to at most one investigation.

Every alert about a group attaches to the group's incident while it is not closed, so a
storm of alerts starts one investigation. An error that comes back after its fix was
verified (or while it is being verified) reopens the same incident as `regressed`.

Two limits keep an error storm from becoming a bill: at most
`INCIDENTS_MAX_INVESTIGATIONS_PER_HOUR` investigations start per source each hour, and at
most `INCIDENTS_MAX_CONCURRENT_INVESTIGATIONS` run at once. Past them the incident is
opened anyway and waits, with the reason on it; the verifier's pass starts it when there
is room.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from engine.models import FINISHED_STATES, Task, TaskSource
from engine.services import create_task
from incidents.models import Incident, IncidentEvent, IncidentSource, IncidentState
from incidents.services.identity import service_user
from incidents.services.lifecycle import SYSTEM_ACTOR, change_state, open_incident, record
from logcrawler.models import Alert, ErrorFingerprint

INVESTIGATE_KIND = "incident.investigate"
STARTABLE = (IncidentState.OPEN, IncidentState.REGRESSED)
REOPENED_BY_ALERT = (IncidentState.VERIFYING, IncidentState.VERIFIED)
HOURLY_LIMIT = "hourly limit: {count} investigations of {source} incidents started this hour"
CONCURRENCY_LIMIT = "concurrency limit: {count} investigations are running"


def _incident_of(alert: Alert) -> Incident | None:
    """The alert's incident: the open one of its group (or subject), else the newest
    verified one, which the alert reopens."""
    if alert.fingerprint_id is not None:
        linked = Incident.objects.filter(fingerprints=alert.fingerprint_id)
    else:
        linked = Incident.objects.filter(alerts__subject=alert.subject)
    linked = linked.select_for_update().order_by("-created_at", "-id")
    current = linked.not_closed().first()
    if current is not None:
        return current
    return linked.filter(state=IncidentState.VERIFIED).first()


def attach_alert(alert: Alert) -> Incident:
    """The incident the alert belongs to, made if there is none; inside the alert's
    transaction. The group's row is locked first, so two alerts for it make one incident."""
    if alert.fingerprint_id is not None:
        ErrorFingerprint.objects.select_for_update().filter(pk=alert.fingerprint_id).first()
    actor = f"system:alert-{alert.pk}"
    incident = _incident_of(alert)
    if incident is None:
        incident = open_incident(
            title=alert.title,
            source=IncidentSource.LOGCRAWLER,
            actor=actor,
            note=f"{alert.reason}: {alert.detail}"[:2000],
        )
    elif incident.state in REOPENED_BY_ALERT:
        regress(incident, actor=actor, note=f"the error came back: alert #{alert.pk}")
    else:
        record(incident, actor=actor, note=f"alert #{alert.pk} attached ({alert.reason})")
    incident.alerts.add(alert)
    if alert.fingerprint_id is not None:
        incident.fingerprints.add(alert.fingerprint)  # type: ignore[arg-type]
    return incident


def regress(
    incident: Incident, *, actor: str, note: str, data: dict[str, Any] | None = None
) -> None:
    """The error came back: the same incident, linked to the fix that did not hold."""
    change_state(
        incident,
        IncidentState.REGRESSED,
        actor=actor,
        note=note,
        data={
            "failed_fix": incident.fix_id,
            "applied_at": incident.applied_at.isoformat() if incident.applied_at else None,
            **(data or {}),
        },
        regressions=incident.regressions + 1,
        verify_until=None,
    )


def incident_task_for_alert(alert: Alert) -> Task | None:
    """logcrawler's alert-task opener: the investigation working on the alert's incident
    (started now if it may start), or None while the incident waits."""
    incident = attach_alert(alert)
    return ensure_investigation(incident) or incident.investigation


def _limit_reason(incident: Incident, now: datetime) -> str:
    running = Task.objects.unfinished().filter(kind=INVESTIGATE_KIND).count()
    if running >= settings.INCIDENTS_MAX_CONCURRENT_INVESTIGATIONS:
        return CONCURRENCY_LIMIT.format(count=running)
    started = (
        IncidentEvent.objects.filter(
            to_state=IncidentState.INVESTIGATING,
            at__gte=now - timedelta(hours=1),
            incident__source=incident.source,
        )
        .exclude(from_state=IncidentState.INVESTIGATING)
        .count()
    )
    if started >= settings.INCIDENTS_MAX_INVESTIGATIONS_PER_HOUR:
        return HOURLY_LIMIT.format(count=started, source=incident.source)
    return ""


def _instructions(incident: Incident) -> str:
    return (
        f"Investigate incident #{incident.pk}: {incident.title}\n"
        "Read it first (incident_detail: its error groups, samples, stack frames and "
        "history, including fixes that failed). Read the code the frames point at "
        "(code_read_file, code_search). If you find the cause and a safe change, propose "
        "it with incident_propose_patch (a unified diff; a person approves it); if the "
        "fault is one self-heal repairs (stuck or blocked tasks), propose one with "
        "incident_propose_repair (a person approves it). If you "
        "cannot find a fix, stop with a written triage (incident_record_finding): what "
        "happened, since when, the likely cause and where, the evidence. A triage is a "
        "valid outcome, not a failure. Do not repair or change anything else."
    )


@transaction.atomic
def ensure_investigation(incident: Incident, *, now: datetime | None = None) -> Task | None:
    """Start the incident's investigation if it has none running and the limits allow;
    the running one if it has; None when it waits (the reason saved on the incident)."""
    now = now or timezone.now()
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    current = incident.investigation
    if current is not None and current.state not in FINISHED_STATES:
        return current
    if incident.state not in STARTABLE:
        return None
    reason = _limit_reason(incident, now)
    if reason:
        if incident.waiting_reason != reason:
            incident.waiting_reason = reason
            incident.save(update_fields=["waiting_reason"])
        return None
    task = create_task(
        title=f"Investigate incident #{incident.pk}: {incident.title}"[:200],
        kind=INVESTIGATE_KIND,
        payload={"incident": incident.pk, "mode": "ops", "instructions": _instructions(incident)},
        priority=70,
        dedupe_key=f"incident:{incident.pk}",
        timeout_seconds=settings.INCIDENTS_INVESTIGATION_TIMEOUT_SECONDS,
        source=TaskSource.ENGINE,
        source_ref=f"incident:{incident.pk}",
        created_by=service_user(),
        actor=SYSTEM_ACTOR,
    ).task
    incident.tasks.add(task)
    change_state(
        incident,
        IncidentState.INVESTIGATING,
        actor=SYSTEM_ACTOR,
        note=f"investigation task #{task.pk}",
        data={"task": task.pk},
        investigation=task,
        waiting_reason="",
    )
    return task


def start_waiting(*, now: datetime | None = None) -> list[int]:
    """Start the investigations of incidents that waited for a limit, oldest first, while
    there is room; the ids started. A source past its hourly limit is passed over for the
    rest of the pass, so a storm of waiting incidents costs a few queries, not one each."""
    started: list[int] = []
    room = (
        settings.INCIDENTS_MAX_CONCURRENT_INVESTIGATIONS
        - Task.objects.unfinished().filter(kind=INVESTIGATE_KIND).count()
    )
    full_sources: set[str] = set()
    waiting = Incident.objects.filter(state__in=STARTABLE).exclude(waiting_reason="")
    for incident in list(waiting.order_by("created_at", "id")):
        if room <= 0:
            break
        if incident.source in full_sources:
            continue
        if ensure_investigation(incident, now=now) is not None:
            started.append(incident.pk)
            room -= 1
        else:
            full_sources.add(incident.source)
    return started
