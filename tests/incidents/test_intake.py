"""Alerts to incidents: one incident and one investigation per problem, and the limits
that keep an error storm from becoming a bill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.models import Task, TaskState
from engine.services import cancel_task
from engine.services.history import system_actor
from incidents.models import Incident, IncidentState
from incidents.services.verification import verify_pass
from logcrawler.fingerprint import make_entry
from logcrawler.models import Alert, AlertRule, RuleKind
from logcrawler.services import ingest_entries
from tests.incidents.conftest import investigations

pytestmark = [pytest.mark.django_db]

NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


def error(message: str, *, at: datetime = NOW, service: str = "api") -> Any:
    return make_entry(message=message, timestamp=at, level="ERROR", service=service)


def ingest(*messages: str, at: datetime = NOW) -> None:
    ingest_entries(source=None, entries=[error(m, at=at) for m in messages], now=at)


@pytest.fixture
def rules(db: Any) -> list[AlertRule]:
    AlertRule.objects.all().delete()
    return [
        AlertRule.objects.create(name=f"new errors {n}", kind=RuleKind.NEW_FINGERPRINT)
        for n in range(5)
    ]


def test_a_storm_of_alerts_for_one_group_starts_one_investigation(rules: list[AlertRule]) -> None:
    ingest("disk quota exceeded on /var/lib/data")

    assert Alert.objects.count() == 5
    (incident,) = Incident.objects.all()
    (task,) = investigations()
    assert incident.alerts.count() == 5
    assert set(Alert.objects.values_list("task_id", flat=True)) == {task.pk}
    notes = list(incident.events.values_list("note", flat=True))
    assert sum("attached" in note for note in notes) == 4


def test_the_hourly_limit_holds_and_the_rest_wait_with_the_reason(
    rules: list[AlertRule], settings: Any
) -> None:
    settings.INCIDENTS_MAX_INVESTIGATIONS_PER_HOUR = 2
    settings.INCIDENTS_MAX_CONCURRENT_INVESTIGATIONS = 10
    for n, word in enumerate(["alpha", "bravo", "charlie", "delta"]):
        ingest(f"{word} worker crashed hard", at=NOW + timedelta(seconds=n))

    incidents = list(Incident.objects.order_by("id"))
    assert len(incidents) == 4
    assert len(investigations()) == 2
    waiting = [i for i in incidents if i.state == IncidentState.OPEN]
    assert len(waiting) == 2
    assert all(i.waiting_reason.startswith("hourly limit") for i in waiting)

    verify_pass(now=NOW + timedelta(minutes=5))
    assert len(investigations()) == 2, "still within the hour"


def test_past_the_concurrency_limit_incidents_wait_and_start_when_a_run_ends(
    rules: list[AlertRule], settings: Any
) -> None:
    settings.INCIDENTS_MAX_CONCURRENT_INVESTIGATIONS = 1
    ingest("echo worker crashed hard")
    ingest("foxtrot worker crashed hard")
    _first, second = Incident.objects.order_by("id")
    assert second.state == IncidentState.OPEN
    assert second.waiting_reason.startswith("concurrency limit")

    (running,) = investigations()
    cancel_task(task_id=running.pk, actor=system_actor("test"))
    report = verify_pass()

    assert report.started == [second.pk]
    second.refresh_from_db()
    assert (second.state, second.waiting_reason) == (IncidentState.INVESTIGATING, "")
    assert Task.objects.filter(state=TaskState.PENDING).count() == 1
