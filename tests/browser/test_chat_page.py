"""The chat page in headless Chromium, served by a real Daphne, the run done by a real worker
process: the operator sends a message and watches the answer and the tool arrive."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client

from chat.services import create_session
from engine.services import create_task
from tests.chat.live import ROOT, Daphne, database_url_for_children

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def daphne(page: Any) -> Iterator[Daphne]:
    importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed(apps, None)
    server = Daphne(layer="memory", extra_env={"SERVE_STATIC": "true"})
    yield server
    server.stop()


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

    # Signed in through a session row: the server process hashes passwords its own way.
    client = Client()
    client.force_login(user)
    cookie = settings.SESSION_COOKIE_NAME
    page.context.add_cookies(
        [{"name": cookie, "value": client.cookies[cookie].value, "url": daphne.http}]
    )
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
