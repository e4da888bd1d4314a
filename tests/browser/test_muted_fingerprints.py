"""The Logs page: muted fingerprints can be shown, and unmuted from the list."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from logcrawler.models import ErrorFingerprint, FingerprintState
from tests.browser.conftest import sign_in
from tests.logcrawler.helpers import entry, ingest

pytestmark = pytest.mark.browser


def test_a_muted_fingerprint_is_shown_on_request_and_unmuted_from_the_list(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    now = timezone.now()
    ingest(entry("payment gateway refused card 4242", at=now), now=now)
    fingerprint = ErrorFingerprint.objects.get()
    ErrorFingerprint.objects.filter(pk=fingerprint.pk).update(state=FingerprintState.MUTED)
    sign_in(page, live_server.url, django_user_model.objects.create_superuser(username="root"))

    page.goto(f"{live_server.url}/logs/")
    row = page.locator(f"#top-errors tr[data-fingerprint='{fingerprint.pk}']")
    assert row.count() == 0, "muted fingerprints are hidden by default"

    page.click("#show-muted")
    page.wait_for_url("**muted=1**")
    row.locator("button[data-action=unmute]").click()
    page.wait_for_load_state()

    fingerprint.refresh_from_db()
    assert fingerprint.state != FingerprintState.MUTED
    assert "muted=1" in page.url, "the operator comes back to the list they were on"
