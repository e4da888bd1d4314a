"""The incidents pages in a real browser: from the nav to the list to an incident's timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.services.demo import seed_incident_demo

pytestmark = pytest.mark.browser


def test_a_person_follows_the_nav_to_an_incident_and_reads_its_timeline(
    live_server: Any, page: Any, django_user_model: Any, tmp_path: Any
) -> None:
    from decimal import Decimal

    from django.contrib.auth.models import Permission

    from chat.models import ChatSession
    from incidents.services import open_incident
    from tests.routing.factories import ModelCallFactory

    seed_incident_demo()
    disk = open_incident(title="Disk full on db-1", source="manual", actor="system:test")
    session = ChatSession.objects.create(owner=None, mode="ops")
    disk.sessions.add(session)
    ModelCallFactory(mode="ops", session_ref=session.ref, cost=Decimal("0.0125"))
    ines = django_user_model.objects.create_user(username="ines", password="pw-ines-123")
    ines.user_permissions.add(Permission.objects.get(codename="decide_incident"))
    page.goto(live_server.url + reverse("engine:page"))
    page.fill("input[name=username]", "ines")
    page.fill("input[name=password]", "pw-ines-123")
    page.click("button[type=submit]")

    page.click("nav.mainnav >> text=Incidents")
    page.wait_for_selector("#incidents")
    assert "demo" in page.inner_text("#incidents")
    assert "$0.0125" in page.inner_text("#incidents"), "the cost so far, in the money format"
    page.screenshot(path=str(tmp_path / "incidents.png"), full_page=True)
    page.click("text=Demo: KeyError")
    page.wait_for_selector("#timeline")

    timeline = page.inner_text("#timeline")
    assert "awaiting_approval" in timeline and "verified" in timeline
    assert "shop/checkout.py" in page.inner_text("#triage")
    page.screenshot(path=str(tmp_path / "incident.png"), full_page=True)

    page.click("nav.mainnav >> text=Incidents")
    page.click("text=Disk full on db-1")
    assert page.inner_text("#incident-cost").startswith("$0.0125")
    page.fill("input[name=reason]", "a one-off, cleaned by hand")
    page.click("button[data-action=dismiss]")
    page.wait_for_selector(".msg-success")
    assert "now Dismissed" in page.inner_text(".messages")
    assert "a one-off, cleaned by hand" in page.inner_text("#timeline")


def test_a_person_follows_a_task_back_to_its_incident_reads_its_chart_and_escalates_a_finding(
    live_server: Any, page: Any, django_user_model: Any, tmp_path: Any
) -> None:
    from django.contrib.auth.models import Permission

    from incidents.models import Incident
    from tests.factories import TaskFactory
    from tests.incidents.factories import fixed_incident, make_finding

    incident = fixed_incident(timezone.now() - timedelta(hours=2))
    task = TaskFactory(title="Investigate the KeyError")
    incident.tasks.add(task)
    finding = make_finding()
    ines = django_user_model.objects.create_user(username="ines", password="pw-ines-123")
    ines.user_permissions.add(Permission.objects.get(codename="decide_incident"))
    page.goto(live_server.url + reverse("engine:task", args=[task.pk]))
    page.fill("input[name=username]", "ines")
    page.fill("input[name=password]", "pw-ines-123")
    page.click("button[type=submit]")

    page.click(f"#task-links >> text=Incident #{incident.pk}")
    page.wait_for_selector("#incident-chart")
    assert page.locator("#incident-chart .inc-bar").count() == 3
    fix = page.locator("#incident-chart-fix").bounding_box()
    window = page.locator("#incident-chart-window").bounding_box()
    assert fix is not None and window is not None and window["width"] > 0
    assert abs(window["x"] - fix["x"]) < 3, "the window starts where the fix landed"
    page.screenshot(path=str(tmp_path / "incident-chart.png"), full_page=True)

    page.goto(live_server.url + reverse("codehealth:repository", args=["shop"]))
    page.screenshot(path=str(tmp_path / "findings.png"), full_page=True)
    page.click(f"tr[data-finding='{finding.pk}'] button[data-action=escalate]")
    page.wait_for_selector("#incident-findings")
    escalated = Incident.objects.get(findings=finding)
    assert page.url.endswith(reverse("incidents:detail", args=[escalated.pk]))
    assert "opened for finding" in page.inner_text(".messages")
    assert f"#{finding.pk} index" in page.inner_text("#incident-findings")
