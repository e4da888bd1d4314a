"""The routing page in a real browser: its spend chart draws what the ledger holds."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse

from routing.models import Mode
from tests.routing.factories import spend

pytestmark = pytest.mark.browser


def _open_routing_page(page: Any, live_server: Any, django_user_model: Any) -> None:
    django_user_model.objects.create_user(username="ravi", password="pw-ravi-123")
    page.goto(live_server.url + reverse("routing:page"))
    page.fill("input[name=username]", "ravi")
    page.fill("input[name=password]", "pw-ravi-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#spend-chart svg")


def test_spend_is_drawn_as_bars_per_mode(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    spend(mode=Mode.CODE, cost="0.0420", session_ref="chat:1")
    spend(mode=Mode.OPS, cost="0.0100", session_ref="chat:2")

    _open_routing_page(page, live_server, django_user_model)

    assert page.locator("#spend-chart rect.mode-code").count() == 1
    assert page.locator("#spend-chart rect.mode-ops").count() == 1
    assert "Code $0.042" in page.inner_text("#spend-legend")
    assert page.locator("#spend-chart text", has_text="Nothing spent").count() == 0


def test_a_ledger_without_spend_says_so(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    _open_routing_page(page, live_server, django_user_model)

    assert page.locator("#spend-chart rect").count() == 0
    assert page.locator("#spend-chart text", has_text="Nothing spent in these days").count() == 1
    assert page.locator("#spend-chart text", has_text="$0").count() == 1  # one axis label


def test_amounts_spend_per_user_and_an_overrun_as_a_person_reads_them(
    live_server: Any, page: Any, django_user_model: Any, settings: Any
) -> None:
    settings.ROUTING_PROVIDER = "offline"
    importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed(apps, None)
    nina = django_user_model.objects.create_user(username="nina", password="pw-nina-123")
    spend(mode=Mode.OPS, cost="1.10", user=nina)  # $1.00 a day: $0.10 over...
    spend(mode=Mode.OPS, cost="0.02", overrun="0.15", user=nina)  # ...reported above the worst case
    spend(mode=Mode.CODE, cost="0.00000000049", session_ref="chat:9")

    _open_routing_page(page, live_server, django_user_model)

    overrun = page.locator(".sub-line.overrun")
    assert overrun.count() == 1
    assert "112%: over by $0.12" in overrun.inner_text()
    assert "reported $0.15 more than the worst case reserved" in overrun.inner_text()
    users = page.inner_text("#spend-per-user")
    assert "nina" in users and "$1.12" in users
    assert "$0.00000000049" in page.inner_text("body")
    assert "E-" not in page.inner_text("body")
    assert "Code $0.00000000049" in page.inner_text("#spend-legend")
