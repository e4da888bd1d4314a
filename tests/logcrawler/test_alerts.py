"""Alert rules: each fires when it should and not otherwise; dedupe; regression; actions."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from engine.models import Task, TaskSource
from logcrawler.models import Alert, AlertState, ErrorFingerprint, RuleKind
from logcrawler.services import evaluate_alert_rules, set_fingerprint_state
from logcrawler.signals import alert_changed
from tests.logcrawler.helpers import NOW, access, entry, ingest, minutes, rule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rules")]


def alerts(**filters: Any) -> list[Alert]:
    return list(Alert.objects.filter(**filters).order_by("id"))


# --- new fingerprints --------------------------------------------------------------------


def test_a_new_error_fires_and_opens_one_task_keyed_by_the_fingerprint() -> None:
    rule(RuleKind.NEW_FINGERPRINT, min_level="ERROR")

    result = ingest(entry("payment gateway timed out after 5000 ms", level="CRITICAL"))

    (alert,) = alerts()
    fingerprint = ErrorFingerprint.objects.get()
    assert result.new_fingerprints == [fingerprint.id]
    assert (alert.state, alert.reason, alert.severity) == ("firing", "new", "critical")
    task = Task.objects.get()
    assert task.dedupe_key == f"logcrawler:{fingerprint.id}"
    assert (task.kind, task.priority, task.source) == ("agent", 90, TaskSource.LOGCRAWLER)
    assert task.payload["fingerprint"] == fingerprint.id
    assert alert.task == task
    fingerprint.refresh_from_db()
    assert fingerprint.task == task


def test_below_the_rules_level_nothing_fires() -> None:
    rule(RuleKind.NEW_FINGERPRINT, min_level="ERROR")

    ingest(entry("retrying in 2 s", level="WARNING"), entry("user 7 logged in", level="INFO"))

    assert alerts() == []
    assert Task.objects.count() == 0


def test_a_rule_for_another_service_does_not_fire() -> None:
    rule(RuleKind.NEW_FINGERPRINT, service="billing")

    ingest(entry("boom", service="api"))

    assert alerts() == []


def test_a_seen_fingerprint_does_not_fire_again() -> None:
    rule(RuleKind.NEW_FINGERPRINT)

    ingest(entry("disk /dev/sda1 full"))
    ingest(entry("disk /dev/sdb1 full"), now=NOW + minutes(1))

    assert len(alerts()) == 1


def test_a_resolved_fingerprint_that_comes_back_alerts_again() -> None:
    rule(RuleKind.NEW_FINGERPRINT)
    ingest(entry("lock wait timeout on orders", at=NOW))
    fingerprint = ErrorFingerprint.objects.get()
    first_task = Task.objects.get()
    first_task.state = "done"
    first_task.save()

    set_fingerprint_state(
        fingerprint_id=fingerprint.id, action="resolve", actor="user:olga", now=NOW + minutes(1)
    )
    assert alerts()[0].state == AlertState.RESOLVED

    ingest(entry("lock wait timeout on orders", at=NOW + minutes(5)), now=NOW + minutes(5))

    _, new = alerts()
    assert (new.state, new.reason) == ("firing", "regressed")
    assert new.title.startswith("Regressed error")
    assert Task.objects.count() == 2  # the first is done; the regression needs a new one


def test_a_muted_fingerprint_never_alerts_even_when_it_regresses() -> None:
    rule(RuleKind.NEW_FINGERPRINT, min_level="WARNING")
    ingest(entry("noisy thing", level="WARNING"))
    fingerprint = ErrorFingerprint.objects.get()
    set_fingerprint_state(fingerprint_id=fingerprint.id, action="mute", actor="user:olga")

    assert alerts()[0].state == AlertState.RESOLVED
    ingest(entry("noisy thing", level="WARNING"), now=NOW + minutes(3))
    assert len(alerts()) == 1


# --- spikes ---------------------------------------------------------------------------------


def spike_rule(**fields: Any) -> Any:
    defaults = {"window_minutes": 5, "baseline_minutes": 60, "factor": 3.0, "min_count": 10}
    return rule(RuleKind.SPIKE, **{**defaults, **fields})


def burst(count: int, *, at: datetime, message: str = "upstream 502 from payments") -> None:
    ingest(*[entry(message, at=at) for _ in range(count)], now=at)


def test_a_jump_from_zero_fires_once() -> None:
    spike_rule()
    burst(12, at=NOW - minutes(1))

    first = evaluate_alert_rules(now=NOW)
    second = evaluate_alert_rules(now=NOW + minutes(1))

    assert len(first.fired) == 1 and second.fired == []
    (alert,) = alerts()
    assert (alert.reason, alert.state) == ("spike", "firing")
    assert "12 in the last 5 min" in alert.detail


def test_a_trickle_under_the_minimum_count_does_not_fire() -> None:
    spike_rule()
    burst(9, at=NOW - minutes(1))

    assert evaluate_alert_rules(now=NOW).fired == []


def test_a_steady_rate_is_not_a_spike() -> None:
    spike_rule()
    for minute in range(1, 66):
        burst(3, at=NOW - minutes(minute))  # 15 per 5 minutes, every 5 minutes

    assert evaluate_alert_rules(now=NOW).fired == []


def test_three_times_the_baseline_rate_is_a_spike() -> None:
    spike_rule()
    for minute in range(6, 66, 6):
        burst(2, at=NOW - minutes(minute))  # 20 in the hour: 1.7 per 5 minutes
    burst(12, at=NOW - minutes(2))

    assert len(evaluate_alert_rules(now=NOW).fired) == 1


def test_a_spike_resolves_once_clear_for_the_hold() -> None:
    spike_rule(hold_minutes=10)
    burst(12, at=NOW - minutes(1))
    evaluate_alert_rules(now=NOW)

    assert evaluate_alert_rules(now=NOW + minutes(8)).resolved == []  # clear, holding
    assert len(evaluate_alert_rules(now=NOW + minutes(11)).resolved) == 1


def test_a_spike_alert_shares_the_new_error_task() -> None:
    rule(RuleKind.NEW_FINGERPRINT)
    spike_rule()
    burst(12, at=NOW - minutes(1))
    evaluate_alert_rules(now=NOW)

    assert len(alerts()) == 2
    assert Task.objects.count() == 1


# --- sustained 5xx --------------------------------------------------------------------------


def traffic(at: datetime, *, ok: int, failed: int) -> None:
    ingest(
        *[access(200, at=at) for _ in range(ok)],
        *[access(503, at=at) for _ in range(failed)],
        now=at,
    )


def five_xx_rule(**fields: Any) -> Any:
    defaults = {
        "window_minutes": 5,
        "min_count": 20,
        "threshold_share": 0.05,
        "for_minutes": 3,
        "hold_minutes": 4,
    }
    return rule(RuleKind.SUSTAINED_5XX, **{**defaults, **fields})


def test_sustained_5xx_is_pending_then_fires_after_holding_at_every_evaluation() -> None:
    five_xx_rule()
    for minute in range(5):
        traffic(NOW + minutes(minute), ok=18, failed=2)
        report = evaluate_alert_rules(
            now=NOW
            + minutes(
                minute,
            )
        )
        (alert,) = alerts()
        expected = "pending" if minute < 3 else "firing"
        assert alert.state == expected, minute
    assert alert.fired_at == NOW + minutes(3)
    assert alert.subject == "5xx:api" and alert.task is not None
    assert Task.objects.get().priority == 70
    assert report.fired == []


def test_one_clear_evaluation_while_pending_starts_over() -> None:
    five_xx_rule(window_minutes=1)
    traffic(NOW, ok=18, failed=2)
    evaluate_alert_rules(now=NOW)
    traffic(NOW + minutes(1), ok=20, failed=0)
    evaluate_alert_rules(now=NOW + minutes(1))
    traffic(NOW + minutes(2), ok=18, failed=2)
    evaluate_alert_rules(now=NOW + minutes(2))
    traffic(NOW + minutes(4), ok=18, failed=2)
    evaluate_alert_rules(now=NOW + minutes(4))

    first, second = alerts()
    assert first.state == "resolved" and first.fired_at is None
    assert second.state == "pending"  # pending since minute 2: not yet 3 minutes


def test_few_requests_or_a_low_share_do_not_count() -> None:
    five_xx_rule(for_minutes=0)
    traffic(NOW, ok=10, failed=5)  # 15 requests: under min_count
    assert evaluate_alert_rules(now=NOW).opened == []
    traffic(NOW, ok=300, failed=5)  # 320 requests, 3 %
    assert evaluate_alert_rules(now=NOW).opened == []


def test_a_count_threshold_fires_without_the_share() -> None:
    five_xx_rule(for_minutes=0, threshold_share=0, threshold_count=5)
    traffic(NOW, ok=500, failed=6)

    assert len(evaluate_alert_rules(now=NOW).fired) == 1


def test_firing_5xx_holds_through_a_short_clear_then_resolves() -> None:
    five_xx_rule(for_minutes=0, window_minutes=1, hold_minutes=4)
    traffic(NOW, ok=18, failed=2)
    evaluate_alert_rules(now=NOW)
    traffic(NOW + minutes(2), ok=20, failed=0)
    evaluate_alert_rules(now=NOW + minutes(2))
    assert alerts()[0].state == "firing"  # clear for 2 minutes only: holding

    traffic(NOW + minutes(3), ok=18, failed=2)  # back again: still the same alert
    evaluate_alert_rules(now=NOW + minutes(3))
    traffic(NOW + minutes(8), ok=20, failed=0)
    evaluate_alert_rules(now=NOW + minutes(8))

    (alert,) = alerts()
    assert alert.state == "resolved" and alert.resolved_at == NOW + minutes(8)


# --- dedupe and notification ----------------------------------------------------------------


def test_evaluating_twice_opens_one_alert_per_rule_and_subject() -> None:
    five_xx_rule(for_minutes=0)
    spike_rule()
    traffic(NOW, ok=0, failed=30)

    evaluate_alert_rules(now=NOW)
    evaluate_alert_rules(now=NOW)

    assert sorted(a.rule.kind for a in alerts()) == ["spike", "sustained_5xx"]


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers.items()), body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def webhook(settings: Any) -> Iterator[list[tuple[dict[str, str], bytes]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    settings.LOGCRAWLER_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/hook"
    settings.LOGCRAWLER_WEBHOOK_SECRET = "whsec-test"
    yield server.received  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_a_firing_alert_posts_a_signed_webhook_and_sends_the_signal(
    webhook: list[tuple[dict[str, str], bytes]], django_capture_on_commit_callbacks: Any
) -> None:
    rule(RuleKind.NEW_FINGERPRINT)
    heard: list[str] = []

    def listener(sender: Any, alert: Alert, event: str, **kwargs: Any) -> None:
        heard.append(f"{event}:{alert.pk}")

    alert_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ingest(entry("payment gateway timed out"))
    finally:
        alert_changed.disconnect(listener)

    (alert,) = alerts()
    assert heard == [f"firing:{alert.pk}"]
    (headers, body) = webhook[0]
    expected = hmac.new(b"whsec-test", body, hashlib.sha256).hexdigest()
    assert headers["X-Juggernaut-Signature"] == f"sha256={expected}"
    assert headers["X-Juggernaut-Event"] == "alert.firing"
    document = json.loads(body)
    assert document["alert"]["fingerprint"] == alert.fingerprint_id
    assert document["alert"]["task"] == alert.task_id
    assert alert.webhook_status == "firing: HTTP 204"


def test_a_rule_may_open_no_task() -> None:
    rule(RuleKind.NEW_FINGERPRINT, create_task=False)

    ingest(entry("boom"))

    assert alerts()[0].task is None and Task.objects.count() == 0


def test_the_database_refuses_a_second_open_alert_for_a_rule_and_subject() -> None:
    from django.db import IntegrityError, transaction

    five = five_xx_rule()
    fields = {
        "rule": five,
        "subject": "5xx:api",
        "title": "t",
        "reason": "sustained_5xx",
        "severity": "high",
    }
    Alert.objects.create(state=AlertState.PENDING, **fields)

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(state=AlertState.FIRING, **fields)
    Alert.objects.create(state=AlertState.RESOLVED, **fields)  # closed ones may repeat
