"""Times are shown one way everywhere: UTC, written `2026-01-02 03:04:05`, said once in the
footer, whatever the browser's own zone; a relative time carries its exact instant."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from engine.models import Task
from engine.services import create_task
from incidents.models import Incident
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FAST_CLOCK = """
new MutationObserver(function (records, observer) {
  var node = document.getElementById("live-config");
  if (!node) return;
  try { var config = JSON.parse(node.textContent); } catch (incomplete) { return; }
  config.interval_ms = 300;
  node.textContent = JSON.stringify(config);
  observer.disconnect();
}).observe(document, { childList: true, subtree: true, characterData: true });
"""


@pytest.fixture
def far_from_utc(page: Any) -> Any:
    """A tab whose browser lives in Los Angeles: its local time is never UTC's."""
    context = page.context.browser.new_context(
        viewport={"width": 1440, "height": 900}, timezone_id="America/Los_Angeles"
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def assert_every_time_is_utc(tab: Any) -> None:
    times = tab.eval_on_selector_all(
        "main time", "els => els.map(e => [e.dateTime, e.title, e.textContent])"
    )
    assert times, "the page shows its times as <time> elements"
    for instant, title, _ in times:
        exact = datetime.fromisoformat(instant).astimezone(UTC)
        assert title == f"{exact:%Y-%m-%d %H:%M:%S} UTC", (instant, title)
    assert "UTC" in tab.locator("#site-footer").inner_text(), "the footer says which clock"


def test_a_task_shows_its_times_in_utc_and_the_footer_says_so(
    live_server: Any, far_from_utc: Any, django_user_model: Any
) -> None:
    sign_in(far_from_utc, live_server.url, django_user_model.objects.create_user(username="nina"))
    task = create_task(title="rotate keys", kind="agent").task
    Task.objects.filter(pk=task.pk).update(created_at=AT)

    far_from_utc.goto(live_server.url + reverse("engine:task", args=[task.pk]))

    created = far_from_utc.locator("time[datetime='2026-01-02T03:04:05Z']").first
    assert created.inner_text() == "2026-01-02 03:04:05"
    assert created.get_attribute("title") == "2026-01-02 03:04:05 UTC"
    assert_every_time_is_utc(far_from_utc)


def test_relative_times_carry_the_exact_utc_instant(
    live_server: Any, far_from_utc: Any, django_user_model: Any
) -> None:
    sign_in(far_from_utc, live_server.url, django_user_model.objects.create_user(username="nina"))
    incident = Incident.objects.create(title="checkout 500s", source="manual")
    Incident.objects.filter(pk=incident.pk).update(created_at=AT)

    far_from_utc.goto(live_server.url + reverse("incidents:page"))

    opened = far_from_utc.locator("time[datetime='2026-01-02T03:04:05Z']")
    assert "ago" in opened.inner_text()
    assert opened.get_attribute("title") == "2026-01-02 03:04:05 UTC"
    assert_every_time_is_utc(far_from_utc)


def test_the_live_refresh_stamps_utc_not_the_browsers_zone(
    live_server: Any, far_from_utc: Any, django_user_model: Any
) -> None:
    sign_in(far_from_utc, live_server.url, django_user_model.objects.create_user(username="nina"))
    far_from_utc.add_init_script(FAST_CLOCK)

    far_from_utc.goto(live_server.url + reverse("engine:page"))
    status = far_from_utc.locator("#live-status")
    far_from_utc.wait_for_function(
        "document.getElementById('live-status').textContent.includes('refreshed')"
    )

    stamp = re.search(r"refreshed (\d\d):(\d\d):(\d\d)$", status.inner_text())
    assert stamp is not None, status.inner_text()
    now = datetime.now(UTC)
    shown = now.replace(hour=int(stamp[1]), minute=int(stamp[2]), second=int(stamp[3]))
    # Los Angeles is 7 or 8 hours off UTC; the stamp is UTC, within a minute of now.
    gap = min(
        abs(shown - now), abs(shown - now + timedelta(days=1)), abs(shown - now - timedelta(days=1))
    )
    assert gap < timedelta(minutes=1), (status.inner_text(), now)
