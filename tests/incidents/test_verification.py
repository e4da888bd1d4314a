"""The verifier: the window rule, an error that comes back while a fix is verified, and the
job that runs a pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Permission

from incidents.jobs import verify_job
from incidents.models import Incident, IncidentState
from incidents.services import mark_applied, open_incident
from incidents.services.verification import verification_window, verify_pass
from logcrawler.models import ErrorFingerprint

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def group(pk: str, *, first: datetime, last: datetime, count: int) -> ErrorFingerprint:
    return ErrorFingerprint.objects.create(
        id=pk, kind="message", template=pk, level="ERROR", level_no=40,
        first_seen=first, last_seen=last, total_count=count,
    )  # fmt: skip


def test_the_window_is_five_usual_gaps_of_the_rarest_group_within_the_bounds(
    settings: Any,
) -> None:
    settings.INCIDENTS_VERIFY_GAP_FACTOR = 5
    settings.INCIDENTS_VERIFY_MIN_MINUTES = 15
    settings.INCIDENTS_VERIFY_MAX_MINUTES = 120
    often = group("often", first=NOW - timedelta(hours=1), last=NOW, count=61)  # every minute
    hourly = group("hourly", first=NOW - timedelta(hours=5), last=NOW, count=6)  # every hour
    twice = group("twice", first=NOW - timedelta(minutes=8), last=NOW, count=2)

    assert verification_window([often]) == timedelta(minutes=15), "5 min, raised to the minimum"
    assert verification_window([twice]) == timedelta(minutes=40)
    assert verification_window([often, hourly]) == timedelta(minutes=120), "capped"


def test_an_error_that_comes_back_while_verifying_regresses_the_same_incident(
    django_user_model: Any,
) -> None:
    dora = django_user_model.objects.create_user(username="dora", password="pw-dora-123")
    dora.user_permissions.add(Permission.objects.get(codename="decide_incident"))
    quiet = group("g1", first=NOW - timedelta(hours=1), last=NOW - timedelta(minutes=5), count=9)
    incident = open_incident(title="g1 fails", source="logcrawler", actor="system:test")
    incident.fingerprints.add(quiet)
    with time_machine.travel(NOW):
        mark_applied(incident_id=incident.pk, user=dora, note="restarted the pool")
        assert verify_pass().as_dict() == {
            "applied": [], "verified": [], "regressed": [], "started": []
        }  # fmt: skip

    ErrorFingerprint.objects.filter(pk="g1").update(last_seen=NOW + timedelta(minutes=3))
    with time_machine.travel(NOW + timedelta(minutes=4)):
        report = verify_pass()

    incident.refresh_from_db()
    assert report.regressed == [incident.pk]
    assert Incident.objects.count() == 1
    assert incident.regressions == 1
    assert incident.state == IncidentState.INVESTIGATING, "investigated again"
    states = list(incident.events.order_by("id").values_list("to_state", flat=True))
    assert states[-3:] == ["verifying", "regressed", "investigating"]


def test_the_job_runs_a_pass_and_reports_it() -> None:
    assert verify_job() == {"applied": [], "verified": [], "regressed": [], "started": []}
