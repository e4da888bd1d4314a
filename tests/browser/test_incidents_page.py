"""The incidents pages in a real browser: from the nav to the list to an incident's timeline."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from incidents.services.demo import seed_incident_demo

pytestmark = pytest.mark.browser


def test_a_person_follows_the_nav_to_an_incident_and_reads_its_timeline(
    live_server: Any, page: Any, django_user_model: Any, tmp_path: Any
) -> None:
    from django.contrib.auth.models import Permission

    from incidents.services import open_incident

    seed_incident_demo()
    open_incident(title="Disk full on db-1", source="manual", actor="system:test")
    ines = django_user_model.objects.create_user(username="ines", password="pw-ines-123")
    ines.user_permissions.add(Permission.objects.get(codename="decide_incident"))
    page.goto(live_server.url + reverse("engine:page"))
    page.fill("input[name=username]", "ines")
    page.fill("input[name=password]", "pw-ines-123")
    page.click("button[type=submit]")

    page.click("nav.mainnav >> text=Incidents")
    page.wait_for_selector("#incidents")
    assert "demo" in page.inner_text("#incidents")
    page.click("text=Demo: KeyError")
    page.wait_for_selector("#timeline")

    timeline = page.inner_text("#timeline")
    assert "awaiting_approval" in timeline and "verified" in timeline
    assert "shop/checkout.py" in page.inner_text("#triage")
    page.screenshot(path=str(tmp_path / "incident.png"), full_page=True)

    page.click("nav.mainnav >> text=Incidents")
    page.click("text=Disk full on db-1")
    page.fill("input[name=reason]", "a one-off, cleaned by hand")
    page.click("button[data-action=dismiss]")
    page.wait_for_selector(".msg-success")
    assert "now Dismissed" in page.inner_text(".messages")
    assert "a one-off, cleaned by hand" in page.inner_text("#timeline")
