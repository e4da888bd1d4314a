from __future__ import annotations

from datetime import UTC, datetime

from config.retry_after import retry_after_seconds

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_a_number_of_seconds() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 120 ") == 120.0


def test_an_http_date_counts_from_now_and_never_below_zero() -> None:
    assert retry_after_seconds("Wed, 01 Jan 2025 12:00:30 GMT", now=NOW) == 30.0
    assert retry_after_seconds("Wed, 01 Jan 2025 11:00:00 GMT", now=NOW) == 0.0
    assert retry_after_seconds("-5") == 0.0


def test_absent_or_unreadable_is_none_for_the_caller_to_default() -> None:
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
