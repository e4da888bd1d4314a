"""The chat page's list of sessions: system-made instructions say who gave them, New
session leaves no trail of empty rows, and the list filters by whose, mode, state and title."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps

from chat.models import ChatMessage, ChatSession
from chat.services import create_session
from engine.services import create_task
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def policies(transactional_db: None) -> None:
    importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed(apps, None)


def test_a_system_sessions_instructions_are_labelled_with_their_task(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    staff = django_user_model.objects.create_user(username="ops", is_staff=True)
    task = create_task(title="triage checkout errors", kind="agent").task
    session = ChatSession.objects.create(owner=None, origin_task=task, mode="ops")
    ChatMessage.objects.create(session=session, role="user", content="Investigate the errors")
    mine = create_session(owner=staff, mode="ops")
    ChatMessage.objects.create(session=mine, role="user", content="hello")
    sign_in(page, live_server.url, staff)

    page.goto(f"{live_server.url}/chat/{session.pk}/")
    assert page.locator(".chat-user .chat-msg-role").inner_text().lower() == f"task #{task.pk}"
    assert "system" in page.locator(f"li[data-session='{session.pk}']").inner_text()

    page.goto(f"{live_server.url}/chat/{mine.pk}/")
    assert page.locator(".chat-user .chat-msg-role").inner_text().lower() == "you"


def test_new_session_twice_leaves_one_empty_session(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina")
    sign_in(page, live_server.url, user)
    page.goto(f"{live_server.url}/chat/")
    for _ in range(3):
        page.click(".chat-new button[type=submit]")
        page.wait_for_url("**/chat/*/")
    assert ChatSession.objects.filter(owner=user).count() == 1
    assert page.locator("#chat-session-list li[data-session]").count() == 1


def test_the_list_filters_by_whose_and_by_title(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    staff = django_user_model.objects.create_user(username="ops", is_staff=True)
    deploy = create_session(owner=staff, mode="ops", title="deploy notes")
    create_session(owner=staff, mode="normal", title="lunch plans")
    machine = ChatSession.objects.create(owner=None, title="fix checkout", mode="ops")
    sign_in(page, live_server.url, staff)
    page.goto(f"{live_server.url}/chat/")
    assert page.locator("#chat-session-list li[data-session]").count() == 3

    page.select_option("#chat-filter select[name=who]", "system")
    page.click("#chat-filter button[type=submit]")
    page.wait_for_url("**who=system**")
    shown = page.locator("#chat-session-list li[data-session]")
    assert shown.count() == 1
    assert shown.get_attribute("data-session") == str(machine.pk)

    page.click("text=Clear")
    page.fill("#chat-filter input[name=q]", "deploy")
    page.click("#chat-filter button[type=submit]")
    page.wait_for_url("**q=deploy**")
    shown = page.locator("#chat-session-list li[data-session]")
    assert shown.count() == 1
    assert shown.get_attribute("data-session") == str(deploy.pk)
    # Opening a session keeps the filter.
    assert "q=deploy" in (shown.locator("a").get_attribute("href") or "")


def test_an_archived_session_leaves_the_list_and_comes_back_on_request(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina")
    kept = create_session(owner=user, mode="ops", title="keep me")
    old = create_session(owner=user, mode="ops", title="old incident")
    sign_in(page, live_server.url, user)

    page.goto(f"{live_server.url}/chat/{old.pk}/")
    page.click("#chat-archive")
    page.wait_for_url(f"**/chat/{kept.pk}/")
    listed = page.locator("#chat-session-list li[data-session]")
    assert listed.count() == 1 and listed.get_attribute("data-session") == str(kept.pk)

    page.check("#chat-filter input[name=archived]")
    page.click("#chat-filter button[type=submit]")
    page.wait_for_url("**archived=on**")
    assert listed.count() == 1 and listed.get_attribute("data-session") == str(old.pk)
    listed.locator("a").click()
    page.click("#chat-archive")  # now Unarchive
    page.wait_for_url(f"**/chat/{old.pk}/")
    assert ChatSession.objects.get(pk=old.pk).archived_at is None
    assert page.locator("#chat-session-list li[data-session]").count() == 2
