"""A code-health finding a person escalates becomes an incident: one open incident per
finding, from the service, the API (POST /api/incidents/escalate/) and the finding's row."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from codehealth.models import FindingState
from engine.models import Task
from incidents.errors import InvalidTransition, NotAllowed
from incidents.models import Incident, IncidentSource, IncidentState
from incidents.services import INVESTIGATE_KIND, escalate_finding
from tests.factories import api_client_for
from tests.incidents.factories import make_finding

pytestmark = pytest.mark.django_db


@pytest.fixture
def decider(django_user_model: Any) -> Any:
    dora = django_user_model.objects.create_user(username="dora", password="pw-dora-123")
    dora.user_permissions.add(Permission.objects.get(codename="decide_incident"))
    return dora


def test_escalating_a_finding_twice_makes_one_incident_investigated_once(decider: Any) -> None:
    finding = make_finding()

    incident, created = escalate_finding(finding, user=decider)
    again, created_again = escalate_finding(finding, user=decider)

    assert created and not created_again and again.pk == incident.pk
    assert incident.source == IncidentSource.CODEHEALTH
    assert list(incident.findings.all()) == [finding]
    assert "shop/pricing.py:5" in incident.title
    assert Task.objects.filter(kind=INVESTIGATE_KIND).count() == 1
    assert Incident.objects.get(pk=incident.pk).state == IncidentState.INVESTIGATING
    assert "escalated again" in incident.events.last().note  # type: ignore[union-attr]


def test_a_closed_incident_does_not_hold_the_finding_a_new_escalation_opens_another(
    decider: Any,
) -> None:
    finding = make_finding()
    first, _ = escalate_finding(finding, user=decider)
    Incident.objects.filter(pk=first.pk).update(state=IncidentState.DISMISSED)

    second, created = escalate_finding(finding, user=decider)

    assert created and second.pk != first.pk


def test_escalating_needs_the_permission_and_a_finding_not_fixed(decider: Any, user: Any) -> None:
    with pytest.raises(NotAllowed):
        escalate_finding(make_finding(), user=user)
    with pytest.raises(InvalidTransition):
        escalate_finding(make_finding(state=FindingState.FIXED), user=decider)
    assert not Incident.objects.exists()


def test_the_api_escalates_and_answers_every_status(decider: Any, user: Any) -> None:
    finding = make_finding()
    api = api_client_for(decider)
    url = reverse("incidents-api:incident-escalate")
    assert url == "/api/incidents/escalate/"

    made = api.post(url, {"finding": finding.pk}, format="json")
    again = api.post(url, {"finding": finding.pk}, format="json")

    assert made.status_code == 201 and made.json()["findings"] == [finding.pk]
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]
    assert api.post(url, {"finding": "abc"}, format="json").status_code == 400
    assert "finding" in api.post(url, {}, format="json").json()
    assert api.post(url, {"finding": 999999}, format="json").status_code == 404
    fixed = make_finding(state=FindingState.FIXED)
    assert api.post(url, {"finding": fixed.pk}, format="json").status_code == 409
    refused = api_client_for(user).post(url, {"finding": finding.pk}, format="json")
    assert refused.status_code == 403


def test_the_finding_row_offers_escalate_to_a_person_who_may_and_it_leads_to_the_incident(
    client: Any, decider: Any, user: Any
) -> None:
    finding = make_finding()
    make_finding(state=FindingState.FIXED, fingerprint="fixed")
    page_url = reverse("codehealth:repository", args=["shop"]) + "?state="
    action = reverse("incidents:escalate-finding", args=[finding.pk])

    client.force_login(user)
    assert action not in client.get(page_url).content.decode(), "not without the permission"
    client.force_login(decider)
    page = client.get(page_url).content.decode()
    assert action in page and page.count('data-action="escalate"') == 1, "not on a fixed one"

    answer = client.post(action, {"next": page_url})

    incident = Incident.objects.get()
    assert answer.status_code == 302 and answer.url == reverse(
        "incidents:detail", args=[incident.pk]
    )
    detail = client.get(answer.url).content.decode()
    assert "Code findings" in detail and f"#{finding.pk} index" in detail
    assert client.post(reverse("incidents:escalate-finding", args=[999999])).status_code == 404
