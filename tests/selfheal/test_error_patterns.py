"""Error messages grouped into patterns, and the seam where other sources plug in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from selfheal.error_patterns import (
    ErrorPattern,
    error_pattern_sources,
    normalize_error,
    register_error_pattern_source,
    top_error_patterns,
    unregister_error_pattern_source,
)
from tests.selfheal.factories import failures


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (
            "Timeout after 5s connecting to 10.0.0.7:5432",
            "Timeout after 30s connecting to 10.1.2.3:6543",
        ),
        ("KeyError: 'user_12'", "KeyError: 'user_9999'"),
        (
            "request 8f14e45fceea167a5a36dedd4bea2543 failed",
            "request 45c48cce2e2d7fbdea1afc51c7c6ad26 failed",
        ),
        (
            "job 550e8400-e29b-41d4-a716-446655440000 lost",
            "job 6ba7b810-9dad-11d1-80b4-00c04fd430c8 lost",
        ),
        ("relation orders_5 is locked", "relation orders_12 is locked"),
        (
            'Traceback (most recent call last):\n  File "/a.py", line 3\nValueError: bad 7',
            'Traceback (most recent call last):\n  File "/b.py", line 9\nValueError: bad 8',
        ),
    ],
)
def test_messages_differing_only_in_their_values_share_a_pattern(one: str, other: str) -> None:
    assert normalize_error(one) == normalize_error(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("HTTP 502 from /items", "HTTP 404 from /items"),
        ("[Errno 104] Connection reset", "[Errno 111] Connection refused"),
        ("KeyError: 'x'", "ValueError: 'x'"),
    ],
)
def test_messages_that_mean_different_things_do_not(one: str, other: str) -> None:
    assert normalize_error(one) != normalize_error(other)


class FingerprintSource:
    """A source like the log crawler's: patterns from somewhere other than tasks."""

    name = "fake_logs"

    def top_patterns(self, *, since: datetime, limit: int) -> list[ErrorPattern]:
        return [ErrorPattern("fake_logs:abc", "fake_logs", "upstream timed out", 40)][:limit]


@pytest.fixture
def fingerprints() -> Any:
    source = FingerprintSource()
    register_error_pattern_source(source)
    yield source
    unregister_error_pattern_source(source.name)


@pytest.mark.django_db
def test_patterns_from_every_source_are_merged_most_frequent_first(fingerprints: Any) -> None:
    failures(12)

    patterns = top_error_patterns(since=timezone.now() - timedelta(days=1), limit=5)

    assert [(p.source, p.count) for p in patterns] == [("fake_logs", 40), ("tasks", 12)]
    assert {"tasks", "fake_logs"} <= {source.name for source in error_pattern_sources()}
    assert len(patterns[1].examples) == 5


def test_two_sources_of_one_name_are_refused(fingerprints: Any) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_error_pattern_source(FingerprintSource())
