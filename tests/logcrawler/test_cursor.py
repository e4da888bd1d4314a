"""Nanosecond timestamps and the cursor that remembers lines at its own instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from logcrawler.sources.cursor import (
    TimestampCursor,
    format_rfc3339_ns,
    ns_to_datetime,
    parse_rfc3339_ns,
)


@dataclass(frozen=True)
class Line:
    ts_ns: int
    identity: str


def test_nine_fractional_digits_are_kept() -> None:
    a = parse_rfc3339_ns("2025-06-02T12:00:00.123456789Z")
    b = parse_rfc3339_ns("2025-06-02T12:00:00.123456790Z")

    assert b - a == 1
    assert format_rfc3339_ns(a) == "2025-06-02T12:00:00.123456789Z"
    assert ns_to_datetime(a) == datetime(2025, 6, 2, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-02T12:00:00Z", "2025-06-02T12:00:00.000000000Z"),
        ("2025-06-02T14:00:00.5+02:00", "2025-06-02T12:00:00.500000000Z"),
        ("2025-06-02t11:30:00.000001-00:30", "2025-06-02T12:00:00.000001000Z"),
    ],
)
def test_offsets_and_short_fractions(text: str, expected: str) -> None:
    assert format_rfc3339_ns(parse_rfc3339_ns(text)) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2025-06-02 12:00", "2025-06-02T12:00:00"])
def test_not_rfc3339_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339_ns(text)


def test_the_cursor_takes_each_line_once_even_at_a_shared_instant() -> None:
    cursor = TimestampCursor()
    first = cursor.take_new([Line(5, "a"), Line(7, "b"), Line(7, "c"), Line(7, "c")])
    assert [line.identity for line in first] == ["a", "b", "c", "c"]

    # The same page again, plus a third "c" and a "d" at the same instant, and older lines.
    again = cursor.take_new(
        [Line(5, "a"), Line(7, "c"), Line(7, "b"), Line(7, "c"), Line(7, "c"), Line(7, "d")]
    )
    assert [line.identity for line in again] == ["c", "d"]
    assert cursor.ts_ns == 7
    assert cursor.seen == {"b": 1, "c": 3, "d": 1}


def test_moving_to_a_later_instant_forgets_the_earlier_ones() -> None:
    cursor = TimestampCursor(ts_ns=7, seen={"b": 1})
    taken = cursor.take_new([Line(7, "b"), Line(9, "e")])

    assert [line.identity for line in taken] == ["e"]
    assert (cursor.ts_ns, cursor.seen) == (9, {"e": 1})


def test_the_cursor_survives_json() -> None:
    cursor = TimestampCursor()
    cursor.take_new([Line(1_748_865_600_123_456_789, "x")])

    restored = TimestampCursor.from_json(cursor.as_json())

    assert restored == cursor
    assert TimestampCursor.from_json({}) == TimestampCursor()
    assert TimestampCursor.from_json(None) == TimestampCursor()
