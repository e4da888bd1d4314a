"""The incidents pages: behind login, the list and an incident's timeline, the nav link;
`manage.py incidents`; the demo seeder."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from incidents.models import Incident
from incidents.services import open_incident
from incidents.services.demo import seed_incident_demo

pytestmark = pytest.mark.django_db


def test_the_pages_need_a_login(client: Any) -> None:
    assert client.get("/incidents/").status_code == 302


def test_the_list_and_the_detail_show_the_incident_and_its_timeline(client: Any, user: Any) -> None:
    row = open_incident(title="Disk full on db-1", source="manual", actor="user:alice")
    client.force_login(user)

    listing = client.get("/incidents/").content.decode()
    detail = client.get(f"/incidents/{row.pk}/").content.decode()

    assert f'href="/incidents/{row.pk}/"' in listing
    assert 'href="/incidents/"' in listing, "the nav link"
    assert "Disk full on db-1" in detail and "user:alice" in detail
    assert client.get("/incidents/999999/").status_code == 404


def test_a_new_user_sees_an_empty_list_that_says_what_opens_one(client: Any, user: Any) -> None:
    client.force_login(user)
    assert (
        "No incidents. An error group's firing alert opens one."
        in client.get("/incidents/").content.decode()
    )


def test_the_demo_incident_went_the_whole_way_once() -> None:
    assert seed_incident_demo().startswith("incident #")
    assert seed_incident_demo() == "already loaded"
    (demo,) = Incident.objects.filter(demo=True)
    states = list(demo.events.values_list("to_state", flat=True))
    assert states[0] == "open" and states[-1] == "verified"
    assert "awaiting_approval" in states and "verifying" in states
    out = StringIO()
    call_command("incidents", stdout=out)
    assert f"#{demo.pk}" in out.getvalue() and "[demo]" in out.getvalue()


def test_a_person_with_the_permission_marks_the_fix_applied_and_dismisses_from_the_page(
    client: Any, django_user_model: Any
) -> None:
    from django.contrib.auth.models import Permission

    dora = django_user_model.objects.create_user(username="dora", password="pw-dora-123")
    dora.user_permissions.add(Permission.objects.get(codename="decide_incident"))
    row = open_incident(title="Disk full on db-1", source="manual", actor="user:dora")
    client.force_login(dora)
    assert 'data-action="mark-applied"' in client.get(f"/incidents/{row.pk}/").content.decode()

    client.post(f"/incidents/{row.pk}/mark-applied/", {"note": "cleaned /var"})
    row.refresh_from_db()
    assert (row.state, row.applied_note) == ("verifying", "cleaned /var")

    refused = client.post(f"/incidents/{row.pk}/dismiss/", {"reason": ""}, follow=True)
    assert "needs a reason" in refused.content.decode()
    client.post(f"/incidents/{row.pk}/dismiss/", {"reason": "a one-off"})
    row.refresh_from_db()
    assert (row.state, row.dismissed_reason) == ("dismissed", "a one-off")


def test_without_the_permission_the_page_offers_no_buttons_and_refuses_the_post(
    client: Any, user: Any
) -> None:
    row = open_incident(title="Disk full on db-1", source="manual", actor="user:alice")
    client.force_login(user)

    assert 'data-action="dismiss"' not in client.get(f"/incidents/{row.pk}/").content.decode()
    answer = client.post(f"/incidents/{row.pk}/dismiss/", {"reason": "noise"}, follow=True)

    assert "incidents.decide_incident" in answer.content.decode()
    row.refresh_from_db()
    assert row.state == "open"
