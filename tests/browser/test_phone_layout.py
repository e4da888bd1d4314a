"""Every page at 390 px, a phone: every section in the navigation in sight, no sideways
scrolling, and the Engine page's Approve and Reject on screen."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission

from chat.services import create_session
from codehealth.models import Repository
from engine.services import create_task, request_approval
from incidents.models import Incident
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

PHONE = 390
PAGES = ["/engine/", "/chat/", "/selfheal/", "/logs/", "/codehealth/", "/routing/"]


def inside(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE


@pytest.mark.parametrize("path", PAGES)
def test_a_page_at_390_px_keeps_its_navigation_in_sight(
    live_server: Any, page: Any, django_user_model: Any, path: str
) -> None:
    page.set_viewport_size({"width": PHONE, "height": 844})
    nina = django_user_model.objects.create_user(username="nina")
    importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed(apps, None)
    create_session(owner=nina, mode="ops")  # /chat/ opens it, with its whole control bar
    sign_in(page, live_server.url, nina)
    page.goto(live_server.url + path)

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    links = page.locator(".mainnav a")
    for index in range(links.count()):
        assert inside(page, f".mainnav a >> nth={index}"), links.nth(index).inner_text()


def test_the_engine_pages_decision_buttons_are_on_screen_at_390_px(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    nina = django_user_model.objects.create_user(username="nina")
    nina.user_permissions.add(
        Permission.objects.get(content_type__app_label="engine", codename="decide_others_task")
    )
    task = create_task(title="restart payments", kind="agent").task
    request_approval(task_id=task.pk, reason="restarts a production service", actor="system:x")
    page.set_viewport_size({"width": PHONE, "height": 844})
    sign_in(page, live_server.url, nina)
    page.goto(live_server.url + "/engine/")

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    assert inside(page, "#approvals button[data-action=approve]")
    assert inside(page, "#approvals button[data-action=reject]")


def test_an_incident_with_a_long_title_and_the_reports_form_fit_a_phone(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    page.set_viewport_size({"width": PHONE, "height": 844})
    Repository.objects.create(name="juggernaut", kind="local", path="/srv/juggernaut")
    incident = Incident.objects.create(
        title="New error in shop: requests.exceptions.ReadTimeout payments/gateway.py:charge",
        source="manual",
    )
    sign_in(page, live_server.url, django_user_model.objects.create_user(username="nina"))

    for path in (f"/incidents/{incident.pk}/", "/codehealth/reports/"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, path
