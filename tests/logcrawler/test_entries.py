"""The entry search that the API and chat's tool share."""

from __future__ import annotations

import pytest

from logcrawler.models import LogEntry, LogSource, SourceKind
from logcrawler.services import search_entries
from tests.logcrawler.helpers import NOW, entry, ingest, minutes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rules")]


def messages(entries: object) -> list[str]:
    return [row.message for row in entries]  # type: ignore[attr-defined]


@pytest.fixture
def stored() -> LogSource:
    """Five entries a minute apart, oldest first; two from a named source."""
    source = LogSource.objects.create(name="web-file", kind=SourceKind.FILE, settings={})
    ingest(entry("booting", at=NOW - minutes(4), level="INFO", service="worker"))
    ingest(entry("Payment gateway timed out", at=NOW - minutes(3), service="api"))
    ingest(entry("cache miss for cart", at=NOW - minutes(2), level="DEBUG", service="api"))
    ingest(
        entry("disk nearly full", at=NOW - minutes(1), level="WARNING", service="api"),
        entry("payment refused by bank", at=NOW, level="CRITICAL", service="api"),
        source=source,
    )
    return source


@pytest.mark.usefixtures("stored")
def test_with_no_filter_every_entry_newest_first() -> None:
    assert messages(search_entries()) == [
        "payment refused by bank",
        "disk nearly full",
        "cache miss for cart",
        "Payment gateway timed out",
        "booting",
    ]


@pytest.mark.usefixtures("stored")
def test_text_is_found_anywhere_in_the_message_whatever_its_case() -> None:
    assert messages(search_entries(text="PAYMENT")) == [
        "payment refused by bank",
        "Payment gateway timed out",
    ]


@pytest.mark.usefixtures("stored")
def test_min_level_is_that_level_or_worse_and_level_is_exactly_one() -> None:
    assert messages(search_entries(min_level="WARNING")) == [
        "payment refused by bank",
        "disk nearly full",
        "Payment gateway timed out",
    ]
    assert messages(search_entries(level="DEBUG")) == ["cache miss for cart"]


def test_min_level_never_counts_the_unknown_level() -> None:
    ingest(entry("no level on this line", level=""), entry("an error"))

    assert messages(search_entries(min_level="DEBUG")) == ["an error"]


@pytest.mark.usefixtures("stored")
def test_since_is_inclusive_and_until_exclusive() -> None:
    window = search_entries(since=NOW - minutes(3), until=NOW - minutes(1))

    assert messages(window) == ["cache miss for cart", "Payment gateway timed out"]


def test_source_and_service_and_every_filter_together(stored: LogSource) -> None:
    assert messages(search_entries(source=stored.name)) == [
        "payment refused by bank",
        "disk nearly full",
    ]
    assert messages(search_entries(service="worker")) == ["booting"]
    together = search_entries(
        text="payment", service="api", min_level="ERROR", since=NOW - minutes(3), until=NOW
    )
    assert messages(together) == ["Payment gateway timed out"]


@pytest.mark.usefixtures("stored")
def test_fingerprint_narrows_to_one_group() -> None:
    refused = LogEntry.objects.get(message="payment refused by bank")
    assert refused.fingerprint_id

    assert messages(search_entries(fingerprint=refused.fingerprint_id)) == [
        "payment refused by bank"
    ]
