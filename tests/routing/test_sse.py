"""Server-sent event framing, byte by byte."""

from __future__ import annotations

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
