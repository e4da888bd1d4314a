from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from engine import views
from engine.models import Task, TaskState
from engine.services import create_task, request_approval

pytestmark = pytest.mark.browser


def test_operator_signs_in_and_approves_a_waiting_task(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    django_user_model.objects.create_user(username="nina", password="pw-nina-123")
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
