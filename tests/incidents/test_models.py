"""Incident querysets: the cost so far of a page of incidents, from routing's ledger, in
one query."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import ChatSession
from incidents.models import Incident
from incidents.services import open_incident
from routing.models import Mode
from tests.routing.factories import ModelCallFactory

pytestmark = pytest.mark.django_db


def _session_costing(*costs: str) -> ChatSession:
    session = ChatSession.objects.create(owner=None, mode=Mode.OPS)
    for cost in costs:
        ModelCallFactory(mode=Mode.OPS, session_ref=session.ref, cost=Decimal(cost))
    return session


def test_a_page_of_incidents_costs_the_model_calls_of_its_sessions_in_one_query() -> None:
    investigated = open_incident(title="KeyError", source="logcrawler", actor="system:test")
    investigated.sessions.add(_session_costing("0.25", "0.125"), _session_costing("1.5"))
    again = open_incident(title="Timeout", source="logcrawler", actor="system:test")
    again.sessions.add(_session_costing("0.000000000049"))
    offline = open_incident(title="Disk full", source="manual", actor="system:test")
    offline.sessions.add(_session_costing())
    untouched = open_incident(title="Nobody looked", source="manual", actor="system:test")
    _session_costing("9")  # another session's calls are not theirs
    ModelCallFactory(session_ref="", cost=Decimal("7"))  # nor a call of no session
    ModelCallFactory(session_ref=f"gateway:{again.pk}", cost=Decimal("5"))  # nor another kind

    with CaptureQueriesContext(connection) as queries:
        costs = {row.pk: row.cost for row in Incident.objects.for_list()}

    assert costs == {
        investigated.pk: Decimal("1.875"),
        again.pk: Decimal("0.000000000049"),
        offline.pk: Decimal("0"),
        untouched.pk: Decimal("0"),
    }
    assert all(isinstance(cost, Decimal) for cost in costs.values())
    assert len(queries) == 2, "the incidents with their costs, then their groups"


def test_the_pages_and_the_api_show_the_cost_in_the_one_money_format(
    client: Any, staff: Any
) -> None:
    incident = open_incident(title="KeyError", source="logcrawler", actor="system:test")
    incident.sessions.add(_session_costing("1.5", "0.25"))
    client.force_login(staff)

    listing = client.get("/incidents/").content.decode()
    detail = client.get(f"/incidents/{incident.pk}/").content.decode()
    shown = client.get(f"/api/incidents/{incident.pk}/").json()
    listed = client.get("/api/incidents/").json()

    assert "$1.75" in listing and "$1.75" in detail
    assert Decimal(shown["cost"]) == Decimal("1.75")
    assert [Decimal(row["cost"]) for row in listed["results"]] == [Decimal("1.75")]
