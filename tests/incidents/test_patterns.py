"""A self-heal finding opens an incident: the repair's recurring error pattern becomes an
incident investigated once, and the same pattern seen again attaches to it rather than
opening another agent task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.models import Task, TaskSource
from incidents.models import Incident, IncidentSource, IncidentState
from incidents.services import INVESTIGATE_KIND, open_incident
from incidents.services.patterns import fix_for_pattern
from logcrawler.models import ErrorFingerprint
from selfheal.error_patterns import ErrorPattern
from selfheal.services import run_repair
from tests.selfheal.factories import failures

pytestmark = pytest.mark.django_db

SEEN = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def fix_step(execution: Any) -> dict[str, Any]:
    return next(s for s in execution.outcome["steps"] if s["name"] == "create_fix_tasks")


def test_a_recurring_pattern_opens_one_incident_and_a_repeat_attaches_to_it() -> None:
    failures(10)

    first = run_repair(triggered_by="user:test")
    second = run_repair(triggered_by="user:test")

    (incident,) = Incident.objects.all()
    (investigation,) = Task.objects.filter(kind=INVESTIGATE_KIND)
    assert incident.source == IncidentSource.SELFHEAL
    assert incident.source_key.startswith("selfheal:tasks:")
    assert incident.state == IncidentState.INVESTIGATING
    assert incident.investigation_id == investigation.pk
    assert not Task.objects.filter(source=TaskSource.SELFHEAL).exists(), "no agent fix task"
    assert fix_step(first)["applied"] == [f"engine.task#{investigation.pk}"]
    assert fix_step(second)["applied"] == []
    assert fix_step(second)["skipped"][0]["reason"] == (
        f"already open as engine.task#{investigation.pk}"
    )
    notes = list(incident.events.values_list("note", flat=True))
    assert any(note.startswith("seen again: self-heal saw it 10 times") for note in notes)
    assert incident.events.filter(data__pattern__source="tasks").count() == 2


def log_pattern(group: str) -> ErrorPattern:
    return ErrorPattern(
        key=f"logs:{group}", source="logs", text="[shop] KeyError", count=12,
        last_seen=SEEN, task_key=f"logcrawler:{group}",
    )  # fmt: skip


def test_a_log_pattern_joins_its_groups_incident_and_regresses_a_verified_one() -> None:
    group = ErrorFingerprint.objects.create(
        id="g1", kind="message", template="KeyError", level="ERROR", level_no=40,
        first_seen=SEEN, last_seen=SEEN, total_count=12,
    )  # fmt: skip
    held = open_incident(title="KeyError in pricing", source="logcrawler", actor="system:test")
    held.fingerprints.add(group)
    values = {"payload": {"selfheal_execution": 7}}

    row, created = fix_for_pattern(log_pattern("g1"), values)

    assert created and isinstance(row, Task) and row.kind == INVESTIGATE_KIND
    assert Incident.objects.count() == 1
    assert held.events.filter(actor="system:selfheal-execution-7").exists()

    Incident.objects.filter(pk=held.pk).update(state=IncidentState.VERIFIED)
    Task.objects.filter(pk=row.pk).update(state="done")
    again, created_again = fix_for_pattern(log_pattern("g1"), values)

    held.refresh_from_db()
    assert Incident.objects.count() == 1 and held.regressions == 1
    assert created_again and again.pk != row.pk, "the regressed incident is investigated again"
    assert held.state == IncidentState.INVESTIGATING
