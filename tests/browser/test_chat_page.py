"""The chat page in headless Chromium, served by a real Daphne, the run done by a real worker
process: the operator sends a message and watches the answer and the tool arrive; the list
of sessions follows sessions made elsewhere without a reload."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings

from chat.services import create_session, post_message, stop_run
from chat.services.publisher import publish
from engine.services import create_api_token, create_task
from tests.browser.conftest import sign_in
from tests.chat.live import ROOT, Daphne, database_url_for_children

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def worker(daphne: Daphne) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_children(),
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--name", "browser-worker", "--poll", "0.1"],
        cwd=ROOT,
        env=env,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_the_operator_sends_a_message_and_sees_the_answer_and_the_tool(
    page: Any, daphne: Daphne, worker: Any, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw-nina-123")
    session = create_session(owner=user, mode="ops")
    create_task(title="rotate the logs", kind="echo")

    sign_in(page, daphne, user)
    page.goto(f"{daphne.http}/chat/")
    page.wait_for_url(f"**/chat/{session.pk}/")
    page.locator("#connection-indicator[data-status=live]").wait_for(timeout=10_000)

    page.fill("#chat-input", "list the tasks")
    page.keyboard.press("Enter")

    tool = page.locator("#chat-timeline .chat-tool[data-state=succeeded]")
    tool.wait_for(timeout=20_000)
    assert "list_tasks" in tool.inner_text()
    answer = page.locator(".chat-assistant .chat-msg-text").last
    answer.wait_for()
    page.locator("#chat-status[data-state=idle]").wait_for(timeout=10_000)
    assert "Results of 1 tool call" in answer.inner_text()
    assert page.locator(".chat-user .chat-msg-text").inner_text() == "list the tasks"

    tool.locator("summary").click()
    details = tool.locator(".chat-tool-body").inner_text()
    assert "counts_by_state" in details and "rotate the logs" in details
    assert page.locator("#chat-why-reason").inner_text() == "Completed"
    assert page.locator("[data-meter=steps] .chat-meter-value").inner_text() == "2 / 5"
    assert page.locator("#chat-run").is_disabled(), "a completed run has nothing to continue"
    seq = int(page.locator("#chat-status").get_attribute("data-last-seq"))
    assert seq == session.events.count(), "every stored event reached the page"


def test_a_new_user_sees_sessions_appear_and_change_without_a_reload(
    page: Any, daphne: Daphne, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw-nina-123")
    other = django_user_model.objects.create_user(username="omar", password="pw-omar-123")
    sign_in(page, daphne, user)
    page.goto(f"{daphne.http}/chat/")
    assert "No session yet" in page.locator("main").inner_text()
    page.locator("#connection-indicator[data-status=live]").wait_for()
    page.evaluate("window.__loadedOnce = true")
    listed = page.locator("#chat-session-list li[data-session]")

    # Made through the API, as another tab or a script would: the Daphne process sends it.
    _, token = create_api_token(user=user)
    response = requests.post(
        f"{daphne.http}/api/chat/sessions/",
        json={"mode": "ops", "title": "night shift"},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    first = response.json()["id"]
    entry = page.locator(f"#chat-session-list li[data-session='{first}']")
    entry.wait_for()
    assert entry.locator(".title").inner_text() == "night shift"
    assert entry.locator(".sub-line").inner_text() == f"#{first} · Ops · Idle"
    assert entry.locator("a").get_attribute("href") == f"/chat/{first}/"
    assert page.locator("#chat-session-list li.empty").count() == 0
    assert page.locator("#chat-no-session h2").inner_text() == "Pick a session"

    # Made in another process (this one): the database relay carries it to the page.
    create_session(owner=other, title="omar's own")
    second = create_session(owner=user, mode="code")
    post_message(session_id=second.pk, user=user, content="rotate the logs", queue=True)
    queued = page.locator(f"#chat-session-list li[data-session='{second.pk}'][data-state=queued]")
    queued.wait_for()
    assert queued.locator(".title").inner_text() == "rotate the logs"
    assert listed.first.get_attribute("data-session") == str(second.pk), "newest activity first"

    stop_run(session_id=second.pk, user=user)
    stopped = page.locator(f"#chat-session-list li[data-session='{second.pk}'][data-state=stopped]")
    stopped.wait_for()
    assert stopped.locator(".sub-line").inner_text() == (
        f"#{second.pk} · Code · Stopped: Stopped by the user"
    )
    assert listed.count() == 2, "another user's session never reaches this page"
    assert "omar" not in page.locator("#chat-session-list").inner_text()
    assert page.evaluate("window.__loadedOnce") is True, "the list changed, not the page"

    stopped.locator("a").click()
    page.wait_for_url(f"**/chat/{second.pk}/")
    current = page.locator(f"#chat-session-list li.is-current[data-session='{second.pk}']")
    assert current.locator(".title").inner_text() == "rotate the logs"
    assert page.locator("#chat-why-reason").inner_text() == "Stopped by the user"


def test_events_lost_on_the_way_are_read_back_and_shown_in_order(
    page: Any, daphne: Daphne, django_user_model: Any
) -> None:
    """The socket loses an event (a full channel, a reconnect): the next one's seq shows the
    gap, the page reads the missing range from the API and shows everything in order."""
    user = django_user_model.objects.create_user(username="nina", password="pw-nina-123")
    session = create_session(owner=user, mode="ops")
    dropped: list[str] = []

    def lose_the_second_message(socket: Any) -> None:
        server = socket.connect_to_server()

        def forward(message: str | bytes) -> None:
            text = message.decode() if isinstance(message, bytes) else message
            event = json.loads(text)
            if event.get("type") == "message.user" and event["data"]["content"] == "second":
                dropped.append(text)
                return
            socket.send(text)

        server.on_message(forward)

    page.route_web_socket(f"**/ws/chat/{session.pk}/**", lose_the_second_message)
    sign_in(page, daphne, user)
    page.goto(f"{daphne.http}/chat/{session.pk}/")
    page.locator("#connection-indicator[data-status=live]").wait_for()

    for content in ("first", "second", "third"):
        publish(session.pk, "message.user", {"message_id": 0, "content": content})

    shown = page.locator(".chat-user .chat-msg-text")
    shown.nth(2).wait_for()
    assert dropped, "the socket really lost the second message"
    assert shown.all_inner_texts() == ["first", "second", "third"]
    seq = int(page.locator("#chat-status").get_attribute("data-last-seq"))
    assert seq == session.events.count()


def test_run_with_the_budget_still_spent_says_which_and_what_to_raise(
    page: Any, daphne: Daphne, django_user_model: Any, tmp_path: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw-nina-123")
    session = create_session(owner=user, mode="ops")
    session.messages.create(role="user", content="echo a lot")
    type(session).objects.filter(pk=session.pk).update(
        max_steps=2, steps_used=2, state="stopped", stop_reason="step_budget"
    )

    sign_in(page, daphne, user)
    page.goto(f"{daphne.http}/chat/{session.pk}/")
    page.locator("#connection-indicator[data-status=live]").wait_for(timeout=10_000)
    page.click("#chat-run")

    error = page.locator("#chat-error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith(
        "Run would stop again at once: step budget reached (2 of 2 steps used). "
        "Raise max_steps above 2"
    )
    page.screenshot(path=str(tmp_path / "run-refused.png"), full_page=True)
    session.refresh_from_db()
    assert session.state == "stopped", "nothing was queued"


def test_the_cost_meter_writes_money_one_way_and_says_when_it_is_over(
    page: Any, daphne: Daphne, django_user_model: Any
) -> None:
    from decimal import Decimal

    from chat.models import ChatSession

    user = django_user_model.objects.create_user(username="omar", password="pw-omar-123")
    session = create_session(owner=user, mode="ops")
    ChatSession.objects.filter(pk=session.pk).update(
        max_cost=Decimal("0.10"), cost_used=Decimal("0.12")
    )

    sign_in(page, daphne, user)
    page.goto(f"{daphne.http}/chat/{session.pk}/")
    meter = page.locator("[data-meter=cost]")
    meter.locator(".chat-meter-note").wait_for(timeout=10_000)

    assert meter.locator(".chat-meter-value").inner_text() == "$0.12 / $0.10"
    assert "Over the limit" in meter.locator(".chat-meter-note").inner_text()
    fill = meter.locator(".chat-meter-fill").evaluate("node => node.style.width")
    assert fill == "100%"  # never past the track
