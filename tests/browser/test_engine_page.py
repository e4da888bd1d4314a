from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from chat.services import create_session
from chat.stop_reasons import StopReason
from engine import views
from engine.models import Task, TaskState
from engine.services import create_task, request_approval
from tests.browser.conftest import sign_in
from tests.chat.conftest import run_turn
from tests.chat.live import Daphne
from tests.chat.scripted import Reply

pytestmark = pytest.mark.browser

SLOW_CLOCK = """
new MutationObserver(function (records, observer) {
  var node = document.getElementById("live-config");
  if (!node) return;
  try {
    var config = JSON.parse(node.textContent);
  } catch (incomplete) {
    return;
  }
  config.interval_ms = 600000;
  node.textContent = JSON.stringify(config);
  observer.disconnect();
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


def test_operator_signs_in_and_approves_a_waiting_task(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    nina = django_user_model.objects.create_user(username="nina", password="pw-nina-123")
    # She decides the system's tasks. (Granted directly: a live-server test's database is
    # flushed between tests, which takes the migrations' groups away; permissions return.)
    nina.user_permissions.add(
        Permission.objects.get(content_type__app_label="engine", codename="decide_others_task")
    )
    task = create_task(title="restart payments service", kind="agent").task
    request_approval(task_id=task.pk, reason="restarts a production service", actor="system:guard")

    page.goto(live_server.url + reverse("engine:page"))
    assert "/accounts/login/" in page.url, "an anonymous visitor is sent to sign in"
    page.fill("input[name=username]", "nina")
    page.fill("input[name=password]", "pw-nina-123")
    page.click("button[type=submit]")
    page.wait_for_url("**/engine/")

    row = page.locator(f"#approvals tr[data-task='{task.pk}']")
    assert "restarts a production service" in row.inner_text()
    assert page.locator("[data-count=waiting_approval]").inner_text() == "1"

    row.locator("button[data-action=approve]").click()

    page.locator(".msg-success").wait_for()
    assert "Approved task" in page.locator(".msg-success").inner_text()
    assert page.locator(f"#approvals tr[data-task='{task.pk}']").count() == 0
    assert page.locator("[data-count=waiting_approval]").inner_text() == "0"
    assert page.locator("[data-count=pending]").inner_text() == "1"
    assert Task.objects.get(pk=task.pk).state == TaskState.PENDING

    page.click(f"#recent tr[data-task='{task.pk}'] a")
    page.wait_for_url(f"**/engine/tasks/{task.pk}/")
    history = page.locator("#history").inner_text()
    assert "user:nina" in history
    assert "approved" in history


def test_page_refreshes_its_overview_without_a_reload(
    live_server: Any, page: Any, django_user_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live server runs in this process, so the page can be told to refresh quickly.
    monkeypatch.setattr(views, "REFRESH_SECONDS", 0.3)
    django_user_model.objects.create_user(username="omar", password="pw-omar-123")
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "omar")
    page.fill("input[name=password]", "pw-omar-123")
    page.click("button[type=submit]")
    page.wait_for_url("**/engine/")
    assert page.locator("#approvals tr[data-task]").count() == 0
    page.evaluate("window.__loadedOnce = true")

    task = create_task(title="drop old partitions", kind="agent").task
    request_approval(task_id=task.pk, reason="deletes data", actor="system:guard")

    page.locator(f"#approvals tr[data-task='{task.pk}']").wait_for()
    assert page.evaluate("window.__loadedOnce") is True, "the fragment changed, not the page"
    assert page.locator("[data-count=waiting_approval]").inner_text() == "1"
    assert page.locator("#live-status").inner_text().startswith("Live")


@pytest.mark.live
def test_the_overview_follows_an_agents_approval_request_from_the_stream(
    page: Any, daphne: Daphne, django_user_model: Any
) -> None:
    user = django_user_model.objects.create_user(username="nina", password="pw-nina-123")
    export = create_task(title="nightly export", kind="echo").task
    session = create_session(owner=user, mode="ops")
    sign_in(page, daphne, user)

    # The page's clock would refresh the overview every few seconds: slow it to ten minutes
    # (rewriting its config as the parser inserts it, before the deferred scripts read it),
    # so that only the operator stream can.
    page.add_init_script(SLOW_CLOCK)
    page.goto(f"{daphne.http}/engine/")
    assert json.loads(page.locator("#live-config").text_content())["interval_ms"] == 600_000
    page.locator("#connection-indicator[data-status=live]").wait_for()
    assert page.locator("[data-count=waiting_approval]").inner_text() == "0"

    reason, _ = run_turn(
        session, "cancel the export", [Reply(calls=[("cancel_task", {"task_id": export.pk})])]
    )
    assert reason == StopReason.AWAITING_APPROVAL
    approval = Task.objects.get(state=TaskState.WAITING_APPROVAL)

    page.locator(f"#approvals tr[data-task='{approval.pk}']").wait_for(timeout=5_000)
    assert page.locator("[data-count=waiting_approval]").inner_text() == "1"
    assert page.locator("#live-status").inner_text().startswith("Live · refreshed")


def test_a_refresh_leaves_the_form_the_operator_is_typing_in_alone(
    live_server: Any, page: Any, django_user_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "REFRESH_SECONDS", 0.3)
    nina = django_user_model.objects.create_user(username="nina", password="pw-nina-123")
    nina.user_permissions.add(
        Permission.objects.get(content_type__app_label="engine", codename="decide_others_task")
    )
    task = create_task(title="restart payments", kind="agent").task
    request_approval(task_id=task.pk, reason="restarts a service", actor="system:guard")
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "nina")
    page.fill("input[name=password]", "pw-nina-123")
    page.click("button[type=submit]")
    page.wait_for_url("**/engine/")

    field = page.locator(f"#approvals tr[data-task='{task.pk}'] input[name=reroute_kind]")
    field.fill("echo")
    # A tick came and went without touching the form.
    page.locator("#live-status", has_text="Paused while you fill in a form").wait_for()
    assert field.input_value() == "echo"
    assert field.evaluate("node => node === document.activeElement")

    # Focus elsewhere, the typed kind still unsent: still left alone.
    page.locator("h1").click()
    page.evaluate("document.getElementById('live-status').textContent = ''")
    page.locator("#live-status", has_text="Paused while you fill in a form").wait_for()
    assert field.input_value() == "echo"


def test_recent_tasks_follow_new_tasks_with_the_counters(
    live_server: Any, page: Any, django_user_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "REFRESH_SECONDS", 0.3)
    django_user_model.objects.create_user(username="omar", password="pw-omar-123")
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "omar")
    page.fill("input[name=password]", "pw-omar-123")
    page.click("button[type=submit]")
    page.wait_for_url("**/engine/")
    assert page.locator("#recent tr[data-task]").count() == 0

    task = create_task(title="vacuum the ledger", kind="echo").task

    page.locator(f"#recent tr[data-task='{task.pk}']").wait_for()
    assert page.locator("[data-count=pending]").inner_text() == "1"
    assert "vacuum the ledger" in page.locator("#recent").inner_text()
