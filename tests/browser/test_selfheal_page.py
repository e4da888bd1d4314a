"""The self-heal page: at a laptop's width the auto-heal rules' "Now" column stays in view
whatever the rules say; a revert that restored nothing says so, with the reasons."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from engine.models import Task
from selfheal.services import run_repair
from tests.browser.conftest import sign_in
from tests.selfheal.factories import AutoHealRuleFactory, blocked_on_done, grant_repair

pytestmark = pytest.mark.browser


def test_the_rules_now_column_is_not_clipped_at_1440(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    AutoHealRuleFactory(
        name="requeue-expired-leases-after-a-deploy-of-the-worker-fleet",
        check_name="stale_leases_and_heartbeats",
        dry_run=True,
        cooldown_minutes=1440,
        max_runs_per_hour=60,
    )
    AutoHealRuleFactory(name="quiet-hours-error-sweep", check_name="error_patterns", enabled=False)
    sign_in(page, live_server.url, django_user_model.objects.create_user(username="nina"))
    page.set_viewport_size({"width": 1440, "height": 900})

    page.goto(live_server.url + reverse("selfheal:page"))

    table = page.locator("table.sh-rules")
    wrap = table.locator("xpath=..")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "no sideways scroll"
    panel = wrap.locator("xpath=..").bounding_box()
    for cell in table.locator("tbody td:last-child").all():
        box = cell.bounding_box()
        assert box is not None and panel is not None
        assert box["x"] + box["width"] <= panel["x"] + panel["width"], cell.inner_text()
    assert "disabled" in table.inner_text()


def test_a_revert_that_restored_nothing_reads_nothing_restored_with_the_reasons(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    blocked = blocked_on_done(3)
    repair = run_repair(triggered_by="user:alice")
    Task.objects.filter(pk__in=[t.pk for t in blocked]).update(priority=99)  # all moved since
    nina = grant_repair(django_user_model.objects.create_user(username="nina"))
    sign_in(page, live_server.url, nina)
    page.goto(live_server.url + reverse("selfheal:page") + f"?execution={repair.pk}")
    page.on("dialog", lambda dialog: dialog.accept())

    page.click(f"[data-revert='{repair.pk}']")

    message = page.locator("#sh-message")
    message.wait_for(state="visible")
    assert message.inner_text().startswith("Nothing restored: Restored 0 of 3")
    assert "changed since: priority" in message.inner_text()
    # The page then shows the revert itself.
    page.locator(f".sh-execution:not([data-execution='{repair.pk}'])").wait_for()
    badge = page.locator(".sh-execution h2 .badge").first
    assert badge.inner_text() == "Nothing restored"
    assert "changed since: priority" in (badge.get_attribute("title") or "")
    # The history is its own live part: it may come a refresh after the execution's panel.
    page.locator(".sh-history", has_text="revert restored nothing").wait_for()
    assert "Partly done" not in page.locator(".sh-history").inner_text()
