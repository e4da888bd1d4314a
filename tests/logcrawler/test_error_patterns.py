"""Fingerprints as self-heal's error patterns: what the logs say, beside failed tasks."""

from __future__ import annotations

import pytest
import time_machine

from logcrawler.error_patterns import FINGERPRINT_ERRORS
from logcrawler.models import ErrorFingerprint, FingerprintState
from logcrawler.services import set_fingerprint_state
from selfheal.error_patterns import error_pattern_sources, top_error_patterns
from tests.logcrawler.helpers import NOW, TRACEBACK, entry, ingest, minutes

pytestmark = pytest.mark.django_db


def test_the_log_crawler_is_a_registered_source() -> None:
    assert FINGERPRINT_ERRORS in error_pattern_sources()


def test_error_fingerprints_rank_by_occurrences_since_the_moment() -> None:
    ingest(*[entry(f"payment {n} declined by bank") for n in range(5)])
    ingest(entry(TRACEBACK), entry(TRACEBACK))
    ingest(entry("cache warmed in 5 ms", level="INFO"))
    ingest(entry("old failure 7", at=NOW - minutes(120)), now=NOW - minutes(120))

    patterns = FINGERPRINT_ERRORS.top_patterns(since=NOW - minutes(10), limit=10)

    assert [p.count for p in patterns] == [5, 2]
    assert patterns[0].key.startswith("logs:") and "declined" in patterns[0].text
    assert all(p.source == "logs" for p in patterns)


def test_muted_fingerprints_are_left_out() -> None:
    ingest(entry("disk quota 3 exceeded"))
    fingerprint = ErrorFingerprint.objects.get()
    set_fingerprint_state(fingerprint_id=fingerprint.pk, action="mute", actor="user:alice")
    assert ErrorFingerprint.objects.get().state == FingerprintState.MUTED

    assert FINGERPRINT_ERRORS.top_patterns(since=NOW - minutes(10), limit=10) == []


def test_the_diagnosis_sees_log_patterns() -> None:
    ingest(*[entry(f"upstream {n} timed out") for n in range(3)])

    patterns = top_error_patterns(since=NOW - minutes(10), limit=5)

    assert any(p.source == "logs" and p.count == 3 for p in patterns)


def test_a_repair_reuses_the_task_an_alert_opened_for_the_fingerprint() -> None:
    from engine.models import Task
    from selfheal.services import run_repair

    ingest(*[entry(f"ledger write {n} failed", at=NOW) for n in range(30)], now=NOW)
    alert_tasks = set(Task.objects.values_list("dedupe_key", flat=True))

    with time_machine.travel(NOW + minutes(1), tick=False):
        run_repair(triggered_by="test", dry_run=False)

    fingerprint = ErrorFingerprint.objects.get()
    keys = list(Task.objects.values_list("dedupe_key", flat=True))
    assert keys.count(f"logcrawler:{fingerprint.pk}") == 1
    assert set(keys) == alert_tasks | {f"logcrawler:{fingerprint.pk}"}
