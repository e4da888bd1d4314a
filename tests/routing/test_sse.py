"""Server-sent event framing, byte by byte."""

from __future__ import annotations

from datetime import UTC, datetime

from routing.providers.http import parse_retry_after
from routing.providers.sse import iter_events, iter_lines


def events(raw: bytes, *, size: int) -> list[str]:
    chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
    return list(iter_events(iter_lines(chunks)))


RAW = (
    ": OPENROUTER PROCESSING\r\n\r\n"
    'data: {"a": "é"}\r\n\r\n'
    "event: ignored\n"
    "data: first line\n"
    "data: second line\n\n"
    "data: [DONE]\n\n"
).encode()


def test_comments_skipped_multiline_data_joined_whatever_the_chunking() -> None:
    expected = ['{"a": "é"}', "first line\nsecond line", "[DONE]"]
    for size in (1, 2, 3, 7, 64, len(RAW)):
        assert events(RAW, size=size) == expected


def test_a_last_event_without_a_blank_line_still_counts() -> None:
    assert events(b"data: x", size=3) == ["x"]


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
