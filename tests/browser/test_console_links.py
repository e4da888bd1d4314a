"""No dead ends: a task made from the page, and every id on a task's page a link to the page
of what it names (its chat session, its alert with the alert's state, a ledger's session)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from chat.services import create_session
from engine.models import Task, Worker
from engine.services import create_task
from logcrawler.models import Alert, AlertState, RuleKind
from tests.logcrawler.helpers import rule

pytestmark = pytest.mark.browser


def signed_in(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cookie = settings.SESSION_COOKIE_NAME
    page.context.add_cookies(
        [{"name": cookie, "value": client.cookies[cookie].value, "url": live_server.url}]
    )


def test_an_operator_creates_a_task_from_the_engine_page(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw")
    Worker.objects.create(name="w1", capabilities=["echo", "report"])
    signed_in(page, live_server, user)
    page.goto(f"{live_server.url}/engine/")
    page.click("text=New task")
    page.wait_for_url("**/engine/tasks/new/")
    options = page.locator("select[name=kind] option").all_inner_texts()
    # What a worker says it can run, and what an executor here runs (task_kinds()).
    assert {"echo", "report", "agent"} <= set(options), options
    assert options == sorted(options)

    page.fill("input[name=title]", "say hello")
    page.select_option("select[name=kind]", "report")
    page.fill("textarea[name=payload]", '{"message": "hi"')
    page.fill("input[name=priority]", "70")
    page.click("#new-task-form button[type=submit]")
    assert "JSON" in page.locator(".field-error").inner_text()
    assert Task.objects.count() == 0

    page.fill("textarea[name=payload]", "[1, 2]")
    page.click("#new-task-form button[type=submit]")
    assert "JSON object" in page.locator(".field-error").inner_text()

    page.fill("textarea[name=payload]", '{"message": "hi"}')
    page.click("#new-task-form button[type=submit]")
    page.wait_for_url("**/engine/tasks/*/")
    task = Task.objects.get()
    assert (task.title, task.kind, task.payload, task.priority) == (
        "say hello",
        "report",
        {"message": "hi"},
        70,
    )
    assert task.created_by == user
    assert "Created task" in page.locator(".msg-success").inner_text()


def test_a_tasks_page_links_its_session_and_its_alert_with_the_alerts_state(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw", is_staff=True)
    session = create_session(owner=user, mode="ops")
    from_chat = create_task(title="from chat", kind="echo", source_ref=session.ref).task
    alerted = create_task(title="fix checkout", kind="echo").task
    alert = Alert.objects.create(
        rule=rule(RuleKind.SPIKE),
        subject="5xx:shop",
        title="checkout errors",
        reason="spike",
        state=AlertState.FIRING,
        severity="high",
        task=alerted,
    )
    Task.objects.filter(pk=alerted.pk).update(state="done", source_ref=f"alert:{alert.pk}")
    signed_in(page, live_server, user)

    page.goto(f"{live_server.url}/engine/tasks/{alerted.pk}/")
    links = page.locator("#task-links")
    assert f"Alert #{alert.pk} checkout errors" in links.inner_text()
    assert links.locator(".badge").inner_text() == "alert firing"

    page.goto(f"{live_server.url}/engine/tasks/{from_chat.pk}/")
    page.click(f"#task-links >> text=Chat session #{session.pk}")
    page.wait_for_url(f"**/chat/{session.pk}/")
