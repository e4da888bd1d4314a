"""The self-heal page at a laptop's width: the auto-heal rules' "Now" column stays in view
whatever the rules say (long names, long check names, a dry run, a rule that waits)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.browser.test_error_pages import signed_in
from tests.selfheal.factories import AutoHealRuleFactory

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
    signed_in(page, live_server, django_user_model.objects.create_user(username="nina"))
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
