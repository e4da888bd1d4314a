"""Forms a script sends itself stay usable: a refused or a saved request leaves its button
enabled, so the operator can correct and send again without a reload."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps

from chat.models import ChatSession
from chat.services import create_session
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def policies(transactional_db: None) -> None:
    """The modes' policies and prices (a live-server test's database is flushed of them)."""
    importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed(apps, None)


def test_send_comes_back_after_a_refused_message(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw")
    session = create_session(owner=user, mode="ops")
    sign_in(page, live_server.url, user)
    page.goto(f"{live_server.url}/chat/{session.pk}/")

    # Over the server's 20,000 characters (a paste is not held back by maxlength).
    page.evaluate("document.getElementById('chat-input').value = 'x'.repeat(20001)")
    page.click("#chat-send")
    page.locator("#chat-error:not([hidden])").wait_for()
    assert "content" in page.locator("#chat-error").inner_text()
    assert page.locator("#chat-send").is_enabled(), "Send must come back after a refusal"

    page.fill("#chat-input", "   ")
    page.click("#chat-send")
    assert page.locator("#chat-error").inner_text() == "Write a message first."
    assert page.locator("#chat-send").is_enabled()


def test_budget_save_works_twice_without_a_reload(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw")
    session = create_session(owner=user, mode="ops")
    sign_in(page, live_server.url, user)
    page.goto(f"{live_server.url}/chat/{session.pk}/")
    page.click(".chat-budget-edit summary")

    for steps in (7, 9):
        page.fill("input[name=max_steps]", str(steps))
        page.click("#chat-budget-form button[type=submit]")
        page.wait_for_function("document.querySelector('input[name=max_steps]').value === ''")
        page.locator("#chat-budget-form button[type=submit]:enabled").wait_for()
    assert ChatSession.objects.get(pk=session.pk).max_steps == 9


def test_a_long_status_does_not_move_the_controls(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw")
    session = create_session(owner=user, mode="ops")
    sign_in(page, live_server.url, user)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/chat/{session.pk}/")
    before = page.locator("#chat-run").bounding_box()

    page.evaluate(
        "document.getElementById('chat-status-label').textContent = "
        "'Running a tool · ' + 'logs_search_entries with a long query '.repeat(6)"
    )

    assert page.locator("#chat-run").bounding_box() == before
