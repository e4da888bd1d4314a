"""The incident page's occurrence chart: its groups' occurrences summed per bucket, the
fix's marker where it was applied, the verification window shaded after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from incidents.services import open_incident
from incidents.services.chart import incident_chart
from tests.incidents.factories import fixed_incident

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BEGAN = NOW - timedelta(hours=2)


def test_the_chart_sums_the_groups_per_bucket_and_places_the_fix_and_its_window() -> None:
    chart = incident_chart(fixed_incident(BEGAN), now=NOW)

    assert chart is not None and chart.unit == "minute"
    series = chart.series
    assert series.total == 9 and series.peak == 5, "3 + 2 of g1 and 3 of g2 ... in one minute"
    assert series.start <= BEGAN - timedelta(minutes=29)
    step = series.width / len(series.counts)
    index = int((BEGAN + timedelta(minutes=10) - series.start) / series.step)
    assert series.counts[index] == 5
    assert chart.fix is not None and chart.window is not None
    assert chart.fix.x == pytest.approx((index + 20) * step, abs=0.01)
    assert chart.window.x == chart.fix.x
    assert chart.fix.x + chart.window.width == pytest.approx(series.width - step, abs=0.01)
    assert [x for x, _, _, count, _ in series.bars() if count] == sorted(
        x for x, _, _, count, _ in series.bars() if count
    )
    assert all(x < chart.fix.x for x, _, _, count, _ in series.bars() if count), "quiet after"


def test_an_incident_without_groups_or_fix_draws_what_it_has(client: Any, user: Any) -> None:
    bare = open_incident(title="Disk full", source="manual", actor="system:test")
    assert incident_chart(bare, now=NOW) is None
    client.force_login(user)
    assert (
        'id="incident-chart"'
        not in client.get(reverse("incidents:detail", args=[bare.pk])).content.decode()
    )

    incident = fixed_incident(BEGAN)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert 'id="incident-chart"' in page
    assert 'id="incident-chart-fix"' in page and 'id="incident-chart-window"' in page
    assert f"fix applied {BEGAN + timedelta(minutes=30):%Y-%m-%d %H:%M} UTC" in page
    assert page.count('class="inc-bar"') == 3
