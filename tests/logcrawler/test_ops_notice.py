"""A firing alert becomes a notice on the operator stream; a resolved one does not."""

from __future__ import annotations

from typing import Any

import pytest

from chat.services.publisher import observing
from logcrawler.models import Alert, RuleKind
from logcrawler.signals import alert_changed
from tests.logcrawler.helpers import entry, ingest, rule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rules")]


def test_a_firing_alert_publishes_an_alert_notice(django_capture_on_commit_callbacks: Any) -> None:
    rule(RuleKind.NEW_FINGERPRINT, min_level="ERROR")
    seen: list[dict[str, Any]] = []

    with observing(seen.append), django_capture_on_commit_callbacks(execute=True):
        ingest(entry("payment gateway timed out after 5000 ms", level="CRITICAL"))

    alert = Alert.objects.get()
    (notice,) = [e for e in seen if e["type"] == "ops.notice"]
    assert (notice["seq"], notice["session"]) == (None, None)
    assert notice["data"] == {
        "kind": "alert",
        "alert": alert.pk,
        "title": alert.title,
        "severity": "critical",
        "fingerprint": alert.fingerprint_id,
        "task": alert.task_id,
        "url": f"/logs/fingerprints/{alert.fingerprint_id}/",
    }
    assert alert.task_id is not None


def test_a_resolved_alert_publishes_nothing() -> None:
    rule(RuleKind.NEW_FINGERPRINT)
    ingest(entry("boom"))
    alert = Alert.objects.get()
    seen: list[dict[str, Any]] = []

    with observing(seen.append):
        alert_changed.send(sender=Alert, alert=alert, event="resolved")

    assert seen == []
