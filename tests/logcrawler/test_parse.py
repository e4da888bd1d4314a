"""Line parsing: timestamp, level, service, message and attributes from common shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from logcrawler.fingerprint import make_entry, normalise_level, parse_line, parse_timestamp


def test_json_lines_give_every_field_and_keep_the_rest_as_attributes() -> None:
    entry = parse_line(
        '{"timestamp": "2024-05-01T12:00:00.123456789Z", "level": "warn", '
        '"message": "disk low", "service": "api", "free_mb": 12, "tags": ["a"]}'
    )

    assert entry.message == "disk low"
    assert entry.timestamp == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert entry.level == "WARNING"
    assert entry.service == "api"
    assert entry.attributes == {"free_mb": "12", "tags": '["a"]'}


def test_logfmt_lines() -> None:
    entry = parse_line('time=2024-05-01T12:00:00Z level=error msg="db timeout after 30s" attempt=3')

    assert entry.message == "db timeout after 30s"
    assert entry.level == "ERROR"
    assert entry.attributes == {"attempt": "3"}


@pytest.mark.parametrize(
    ("line", "level", "service", "message"),
    [
        (
            "2024-05-01 12:00:00,123 ERROR django.request: Internal Server Error: /x",
            "ERROR",
            "django.request",
            "Internal Server Error: /x",
        ),
        (
            "2024-05-01T12:00:00Z [WARNING] [billing] card declined",
            "WARNING",
            "billing",
            "card declined",
        ),
        ("2024-05-01T12:00:00Z info: started", "INFO", "", "started"),
        ("[2024-05-01 12:00:00 +0000] [7] [INFO] Booting worker", "INFO", "", "Booting worker"),
        (
            "ERROR:django.request:Internal Server Error",
            "ERROR",
            "django.request",
            "Internal Server Error",
        ),
        (
            'INFO:     127.0.0.1:52742 - "GET / HTTP/1.1" 200 OK',
            "INFO",
            "",
            '127.0.0.1:52742 - "GET / HTTP/1.1" 200 OK',
        ),
        ("CRITICAL out of memory", "CRITICAL", "", "out of memory"),
        ("Error connecting to db", "", "", "Error connecting to db"),
        ("Information retrieved", "", "", "Information retrieved"),
    ],
)
def test_text_lines(line: str, level: str, service: str, message: str) -> None:
    entry = parse_line(line)

    assert (entry.level, entry.service, entry.message) == (level, service, message)


def test_text_timestamps_become_utc() -> None:
    entry = parse_line("2024-05-01T14:00:00+02:00 ERROR boom")

    assert entry.timestamp == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_the_sources_service_wins_over_the_lines() -> None:
    assert parse_line("2024-05-01T12:00:00Z ERROR [billing] x", service="api").service == "api"


def test_unrecognised_text_is_kept_whole() -> None:
    entry = parse_line("something odd happened\n")

    assert entry.message == "something odd happened"
    assert entry.timestamp is None and entry.level == "" and entry.attributes == {}


def test_a_traceback_without_a_level_is_an_error() -> None:
    entry = parse_line('Traceback (most recent call last):\n  File "a.py", line 1\nKeyError: 1')

    assert entry.level == "ERROR"
    assert entry.message.startswith("Traceback")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01 12:00:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("1714564800", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("1714564800000", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("not a time", None),
        ("", None),
    ],
)
def test_parse_timestamp(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


def test_levels_have_one_spelling() -> None:
    assert [normalise_level(word) for word in ("warn", "Warning", "FATAL", "err", "?")] == [
        "WARNING",
        "WARNING",
        "CRITICAL",
        "ERROR",
        "",
    ]


def test_make_entry_from_structured_fields() -> None:
    entry = make_entry(
        message="hello",
        timestamp="2024-05-01T12:00:00.000000001Z",
        level="error",
        service="api",
        attributes={"status": 500, "route": "/x"},
    )

    assert entry.timestamp == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert entry.level == "ERROR"
    assert entry.attributes == {"status": "500", "route": "/x"}
    naive = make_entry(message="x", timestamp=datetime(2024, 5, 1, 12))
    assert naive.timestamp is not None and naive.timestamp.tzinfo is UTC
