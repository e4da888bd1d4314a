"""The ingest pipeline: entries, fingerprints, per-minute counts, stable ids, regressions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from logcrawler.models import (
    ErrorFingerprint,
    ErrorOccurrence,
    FingerprintState,
    LogEntry,
    LogSource,
    SourceKind,
)
from logcrawler.services import reset_fingerprinter_cache, set_fingerprint_state
from tests.logcrawler.helpers import NOW, TRACEBACK, access, entry, ingest, minutes

pytestmark = pytest.mark.django_db


def occurrences(fingerprint_id: str) -> dict[int, int]:
    rows = ErrorOccurrence.objects.filter(fingerprint_id=fingerprint_id)
    return {row.minute.minute: row.count for row in rows}


def test_a_batch_stores_entries_fingerprints_and_per_minute_counts() -> None:
    result = ingest(
        entry("disk /dev/sda1 is 91% full", at=NOW - minutes(1)),
        entry("disk /dev/sdb1 is 97% full", at=NOW - minutes(1)),
        entry("disk /dev/sda1 is 99% full", at=NOW),
        entry("payment gateway timed out after 5000 ms", at=NOW),
    )

    assert result.stored == 4
    assert LogEntry.objects.count() == 4
    assert len(result.new_fingerprints) == 2
    disk = ErrorFingerprint.objects.get(template__startswith="disk")
    assert disk.total_count == 3
    assert (disk.first_seen, disk.last_seen) == (NOW - minutes(1), NOW)
    assert (disk.level, disk.level_no, disk.state) == ("ERROR", 40, FingerprintState.NEW)
    assert disk.sample_message == "disk /dev/sda1 is 91% full"
    assert occurrences(disk.id) == {59: 2, 0: 1}


def test_counts_add_up_across_batches_never_overwrite() -> None:
    ingest(entry("queue depth 1200 over limit", at=NOW))
    second = ingest(entry("queue depth 1300 over limit", at=NOW), entry("queue depth 9 over limit"))

    (fingerprint,) = ErrorFingerprint.objects.all()
    assert second.new_fingerprints == []
    assert fingerprint.total_count == 3
    assert occurrences(fingerprint.id) == {0: 3}


def test_ids_survive_a_restart_and_a_replay_makes_no_new_fingerprint() -> None:
    lines = [
        entry("Invalid user alice from 10.0.0.1"),
        entry("Invalid user bob from 10.0.0.2"),
        entry(TRACEBACK),
        access(500, at=NOW),
    ]
    first = ingest(*lines)
    ids = set(ErrorFingerprint.objects.values_list("id", flat=True))

    reset_fingerprinter_cache()  # a new process
    replay = ingest(*lines)
    later = ingest(entry("Invalid user carol from 10.0.0.3"))

    assert len(first.new_fingerprints) == len(ids) == 3
    assert replay.new_fingerprints == later.new_fingerprints == []
    assert set(ErrorFingerprint.objects.values_list("id", flat=True)) == ids
    assert set(LogEntry.objects.values_list("fingerprint_id", flat=True)) == ids


def test_a_rolled_back_batch_leaves_no_group_behind_in_memory() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(entry("certificate for api.example.com expires in 3 days"))
        raise RuntimeError("the caller's transaction fails after the ingest")

    again = ingest(entry("certificate for api.example.com expires in 3 days"))

    assert len(again.new_fingerprints) == 1
    assert ErrorFingerprint.objects.get().total_count == 1


def test_the_same_template_in_two_services_is_two_fingerprints() -> None:
    result = ingest(
        entry("cache miss storm", service="api"), entry("cache miss storm", service="web")
    )

    assert len(result.new_fingerprints) == 2


def test_access_lines_take_their_level_from_the_status_class() -> None:
    ingest(access(200, at=NOW), access(404, at=NOW), access(503, at=NOW))

    levels = dict(ErrorFingerprint.objects.values_list("status_class", "level"))
    assert levels == {"2xx": "INFO", "4xx": "WARNING", "5xx": "ERROR"}


def test_a_traceback_without_a_level_is_an_error() -> None:
    ingest(entry(TRACEBACK, level=""))

    fingerprint = ErrorFingerprint.objects.get()
    assert (fingerprint.kind, fingerprint.level) == ("traceback", "ERROR")
    assert fingerprint.template == "KeyError shop/views.py:checkout shop/pricing.py:price"


def test_the_worst_level_seen_is_the_fingerprints_level() -> None:
    ingest(entry("worker 3 restarted", level="WARNING"))
    ingest(entry("worker 4 restarted", level="CRITICAL"), entry("worker 5 restarted", level="INFO"))

    assert ErrorFingerprint.objects.get().level == "CRITICAL"


def test_a_resolved_fingerprint_that_comes_back_is_regressed() -> None:
    ingest(entry("lock wait timeout on orders", at=NOW - minutes(10)))
    fingerprint = ErrorFingerprint.objects.get()
    set_fingerprint_state(
        fingerprint_id=fingerprint.id, action="resolve", actor="user:olga", now=NOW - minutes(5)
    )

    backfill = ingest(entry("lock wait timeout on orders", at=NOW - minutes(8)))
    assert backfill.regressed_fingerprints == []
    back = ingest(entry("lock wait timeout on orders", at=NOW))

    fingerprint.refresh_from_db()
    assert back.regressed_fingerprints == [fingerprint.id]
    assert fingerprint.state == FingerprintState.REGRESSED
    assert fingerprint.regressed_at == NOW
    assert fingerprint.state_changed_by == "system:regression"


def test_muted_and_acknowledged_fingerprints_keep_their_state() -> None:
    ingest(entry("smtp 421 try again later"), entry("redis timeout after 2 s"))
    smtp, redis = ErrorFingerprint.objects.order_by("template")
    set_fingerprint_state(fingerprint_id=smtp.id, action="mute", actor="user:olga")
    set_fingerprint_state(fingerprint_id=redis.id, action="acknowledge", actor="user:olga")

    ingest(
        entry("smtp 421 try again later"), entry("redis timeout after 3 s"), now=NOW + minutes(1)
    )

    states = dict(ErrorFingerprint.objects.values_list("id", "state"))
    assert states == {smtp.id: "muted", redis.id: "acknowledged"}


def test_the_source_counters_and_cursor_move_with_the_batch() -> None:
    source = LogSource.objects.create(name="push", kind=SourceKind.HTTP)
    from logcrawler.services import ingest_entries

    ingest_entries(source=source, entries=[entry("a thing failed")], cursor={"at": 1}, now=NOW)

    source.refresh_from_db()
    assert (source.lines_read, source.cursor) == (1, {"at": 1})
    assert LogEntry.objects.get().source == source


def test_text_postgresql_cannot_store_is_cleaned_not_refused() -> None:
    ingest(entry("bad byte \x00 in the middle", attributes={"k": "v\x00"}))

    stored = LogEntry.objects.get()
    assert "\x00" not in stored.message


def test_an_empty_batch_stores_nothing() -> None:
    result = ingest()

    assert result.stored == 0 and ErrorFingerprint.objects.count() == 0


def test_entries_without_a_time_are_stamped_with_the_batch_time() -> None:
    from logcrawler.fingerprint import make_entry

    ingest(make_entry(message="no clock on this line", level="ERROR"), now=NOW + timedelta(hours=1))

    assert LogEntry.objects.get().ts == NOW + timedelta(hours=1)
