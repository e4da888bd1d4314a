"""From a self-heal finding (a recurring error pattern the repair would open a fix task
for) to an incident: the pattern's open incident, or a new one, and its investigation
instead of another agent task.

A log pattern is an error group: it joins the group's incident (the one its alerts attach
to). Any other pattern (failed tasks' errors) is keyed `selfheal:<pattern key>`. As with an
alert, a pattern seen while its incident is verified or being verified regresses it.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from incidents.models import Incident, IncidentSource, IncidentState
from incidents.services.intake import REOPENED_BY_ALERT, ensure_investigation, regress
from incidents.services.lifecycle import open_incident, record
from logcrawler.models import ErrorFingerprint
from logcrawler.services.notify import subject_task_key
from selfheal.error_patterns import ErrorPattern

ACTOR_PREFIX = "system:selfheal-execution-"


def _group(pattern: ErrorPattern) -> ErrorFingerprint | None:
    """The error group of a log pattern (its task key is the group's), locked."""
    prefix = subject_task_key("")
    if not pattern.task_key.startswith(prefix):
        return None
    group_id = pattern.task_key.removeprefix(prefix)
    return ErrorFingerprint.objects.select_for_update().filter(pk=group_id).first()


def incident_for_pattern(pattern: ErrorPattern, values: dict[str, Any]) -> Incident:
    """The pattern's incident, opened if none is open, with a history row for this sighting."""
    execution = values.get("payload", {}).get("selfheal_execution")
    actor = f"{ACTOR_PREFIX}{execution}" if execution else "system:selfheal"
    seen = f"self-heal saw it {pattern.count} times in 24 h ({pattern.source})"
    data = {"pattern": pattern.as_dict(), "selfheal_execution": execution}
    group = _group(pattern)
    found = (
        Incident.objects.filter(fingerprints=group)
        if group is not None
        else Incident.objects.filter(source_key=f"selfheal:{pattern.key}"[:200])
    )
    found = found.select_for_update().order_by("-id")
    incident = found.not_closed().first()
    if incident is not None:
        if incident.state in REOPENED_BY_ALERT:
            regress(incident, actor=actor, note=f"the error came back: {seen}", data=data)
        else:
            record(incident, actor=actor, note=f"seen again: {seen}", data=data)
        return incident
    verified = found.filter(state=IncidentState.VERIFIED).first()
    if verified is not None:
        regress(verified, actor=actor, note=f"the error came back: {seen}", data=data)
        return verified
    incident = open_incident(
        title=f"Recurring error: {pattern.text}",
        source=IncidentSource.SELFHEAL,
        actor=actor,
        note=seen,
    )
    if group is not None:
        incident.fingerprints.add(group)
    else:
        incident.source_key = f"selfheal:{pattern.key}"[:200]
        incident.save(update_fields=["source_key"])
    record(incident, actor=actor, note=f"the pattern: {pattern.text[:300]}", data=data)
    return incident


def fix_for_pattern(pattern: ErrorPattern, values: dict[str, Any]) -> tuple[models.Model, bool]:
    """Self-heal's fix opener: the investigation the pattern's incident starts (made now:
    the repair's), or the row already working on it (its running investigation, else the
    incident, waiting for a limit or a person)."""
    incident = incident_for_pattern(pattern, values)
    before = incident.investigation_id
    task = ensure_investigation(incident)
    if task is None:
        return Incident.objects.get(pk=incident.pk), False
    return task, task.pk != before
