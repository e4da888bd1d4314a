"""The incidents REST API: list (cursor pages), detail, history, dismiss, mark applied;
authenticated, permission-checked, 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from incidents.models import Incident, IncidentState
from incidents.services import open_incident
from tests.factories import api_client_for

pytestmark = pytest.mark.django_db


def incident(**fields: Any) -> Incident:
    made = open_incident(title="KeyError in checkout", source="logcrawler", actor="system:test")
    if fields:
        Incident.objects.filter(pk=made.pk).update(**fields)
        made.refresh_from_db()
    return made


def decider(django_user_model: Any) -> Any:
    user = django_user_model.objects.create_user(username="dora", password="pw-dora-123")
    user.user_permissions.add(Permission.objects.get(codename="decide_incident"))
    return user


def test_the_list_pages_with_a_cursor_and_filters_by_state(user: Any) -> None:
    for _ in range(3):
        incident()
    incident(state=IncidentState.VERIFIED)
    client = api_client_for(user)

    first = client.get("/api/incidents/", {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    verified = client.get("/api/incidents/", {"state": "verified"}).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 2
    assert [r["state"] for r in verified["results"]] == ["verified"]
    bad = client.get("/api/incidents/", {"state": "burning"})
    assert bad.status_code == 400 and "state" in bad.json()


def test_anonymous_callers_are_refused(client: Any) -> None:
    assert client.get("/api/incidents/").status_code == 401


def test_dismiss_needs_the_permission_and_a_reason_and_leaves_a_history_row(
    user: Any, django_user_model: Any
) -> None:
    row = incident()
    assert (
        api_client_for(user)
        .post(f"/api/incidents/{row.pk}/dismiss/", {"reason": "noise"}, format="json")
        .status_code
        == 403
    )
    client = api_client_for(decider(django_user_model))

    missing = client.post(f"/api/incidents/{row.pk}/dismiss/", {}, format="json")
    done = client.post(f"/api/incidents/{row.pk}/dismiss/", {"reason": "noise"}, format="json")
    again = client.post(f"/api/incidents/{row.pk}/dismiss/", {"reason": "noise"}, format="json")

    assert missing.status_code == 400 and "reason" in missing.json()
    assert done.status_code == 200 and done.json()["state"] == "dismissed"
    assert again.status_code == 409
    history = client.get(f"/api/incidents/{row.pk}/history/").json()["results"]
    assert [(h["from_state"], h["to_state"], h["actor"]) for h in history] == [
        ("", "open", "system:test"),
        ("open", "dismissed", "user:dora"),
    ]


def test_mark_applied_starts_the_verification(django_user_model: Any) -> None:
    row = incident()
    client = api_client_for(decider(django_user_model))

    answer = client.post(
        f"/api/incidents/{row.pk}/mark-applied/", {"note": "hotfix"}, format="json"
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["state"] == "verifying" and body["applied_note"] == "hotfix"
    assert body["verify_until"] is not None
    assert client.get("/api/incidents/999999/").status_code == 404
