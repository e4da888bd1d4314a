"""The loop with the offline provider (the default): an error line appended to a file
source becomes one incident whose investigation stops, honestly, at a triage waiting for
a person; never `done` with nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.models import TaskState
from incidents.models import Incident, IncidentState
from logcrawler.models import Alert
from tests.incidents.conftest import Service, investigations, run_investigations

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]

NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def offline(settings: Any) -> None:
    settings.ROUTING_PROVIDER = "offline"


def test_an_error_line_becomes_one_incident_triaged_offline_and_waiting(service: Service) -> None:
    service.log_error(NOW)
    service.crawl(NOW)

    (incident,) = Incident.objects.all()
    (task,) = investigations()
    assert incident.state == IncidentState.INVESTIGATING
    assert incident.investigation_id == task.pk
    assert task.created_by is not None and task.created_by.username == "juggernaut-investigator"
    assert list(incident.alerts.all()) == list(Alert.objects.all())

    assert run_investigations() == 1

    task.refresh_from_db()
    incident.refresh_from_db()
    assert task.state == TaskState.DONE
    assert task.result == {"incident": incident.pk, "outcome": "triage", "offline": True}
    assert incident.state == IncidentState.INVESTIGATING
    assert incident.offline is True
    assert incident.waiting_reason.startswith("offline")
    assert "shop:shop/pricing.py line 5" in incident.triage
    (group,) = incident.triage_data["groups"]
    assert group["located"][-1]["code"]["text"].count("RATES[country]") == 1
    actors = list(incident.events.values_list("to_state", "actor"))
    assert actors[-1] == ("investigating", "service:juggernaut-investigator")


def test_the_same_error_again_attaches_to_the_incident_and_starts_no_second_run(
    service: Service,
) -> None:
    service.log_error(NOW)
    service.crawl(NOW)
    run_investigations()
    for minute in range(1, 4):
        service.log_error(NOW + timedelta(minutes=minute))
        service.crawl(NOW + timedelta(minutes=minute))

    assert Incident.objects.count() == 1
    assert len(investigations()) == 1
    assert run_investigations() == 0
