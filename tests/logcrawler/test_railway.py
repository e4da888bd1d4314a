"""The Railway source against a local server speaking Railway's GraphQL wire format."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from logcrawler.models import ErrorFingerprint, LogEntry, LogSource, SourceKind, SourceStatus
from logcrawler.services import crawl_source, crawl_source_once
from logcrawler.sources.railway import RailwaySource
from tests.logcrawler.fake_railway import FakeRailway, Scripted, railway_stamp
from tests.logcrawler.helpers import NOW

pytestmark = pytest.mark.django_db

DEPLOYMENT = "dep-1"


@pytest.fixture
def source(fake_railway: FakeRailway) -> LogSource:
    fake_railway.deploy(DEPLOYMENT)
    return LogSource.objects.create(
        name="railway-api",
        kind=SourceKind.RAILWAY,
        settings={
            "project_id": "proj-1",
            "services": ["api"],
            "settle_seconds": 0,
            "limit": 10,
            "http_logs": False,
        },
    )


def crawl(source: LogSource, now: Any = NOW) -> Any:
    source.refresh_from_db()
    return crawl_source(source=source, now=now)


def stored() -> list[str]:
    return list(LogEntry.objects.order_by("ts", "id").values_list("message", flat=True))


def lines_before_now(fake: FakeRailway, count: int, *, prefix: str, minutes: int = 30) -> None:
    for n in range(count):
        at = NOW - timedelta(minutes=minutes) + timedelta(seconds=n * 7)
        fake.log(DEPLOYMENT, railway_stamp(at, nanos=n), f"{prefix} line {n}")


@pytest.mark.parametrize("cut", ["oldest", "newest"])
def test_every_line_is_stored_once_across_crawls_whichever_end_a_full_page_keeps(
    fake_railway: FakeRailway, source: LogSource, cut: str
) -> None:
    fake_railway.cut_logs = cut
    lines_before_now(fake_railway, 25, prefix="first")

    report = crawl(source)
    assert report.status == SourceStatus.OK, source.last_error
    assert report.lines == 25

    for n in range(5):
        fake_railway.log(DEPLOYMENT, railway_stamp(NOW + timedelta(seconds=n + 1)), f"later {n}")
    report = crawl(source, NOW + timedelta(minutes=1))

    assert report.lines == 5
    assert stored() == [f"first line {n}" for n in range(25)] + [f"later {n}" for n in range(5)]
    source.refresh_from_db()
    assert source.lines_read == 30
    assert crawl(source, NOW + timedelta(minutes=2)).lines == 0


def test_lines_sharing_one_timestamp_are_neither_repeated_nor_skipped(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    stamp = railway_stamp(NOW - timedelta(minutes=5), nanos=789)
    for n in range(5):
        fake_railway.log(DEPLOYMENT, stamp, f"burst {n}")
    lines_before_now(fake_railway, 12, prefix="before", minutes=8)
    assert crawl(source).lines == 17

    # The cursor now sits on that stamp. More lines arrive later with the very same stamp,
    # one of them a repeat of a message already stored.
    for n in range(5, 8):
        fake_railway.log(DEPLOYMENT, stamp, f"burst {n}")
    fake_railway.log(DEPLOYMENT, stamp, "burst 0")

    assert crawl(source, NOW + timedelta(seconds=30)).lines == 4
    messages = stored()
    assert sorted(m for m in messages if m.startswith("burst")) == sorted(
        [f"burst {n}" for n in range(8)] + ["burst 0"]
    )
    assert len(messages) == 21


def test_more_lines_on_one_instant_than_a_page_holds_is_said_in_the_status(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    stamp = railway_stamp(NOW - timedelta(minutes=5))
    for n in range(12):
        fake_railway.log(DEPLOYMENT, stamp, f"flood {n}")

    report = crawl(source)

    assert report.lines == 10
    assert "share one timestamp" in report.detail


def test_identical_lines_at_one_instant_are_all_kept_once(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    stamp = railway_stamp(NOW - timedelta(minutes=1))
    for _ in range(3):
        fake_railway.log(DEPLOYMENT, stamp, "cache refreshed")

    assert crawl(source).lines == 3
    assert crawl(source, NOW + timedelta(minutes=1)).lines == 0


def test_nanoseconds_apart_is_two_instants(fake_railway: FakeRailway, source: LogSource) -> None:
    at = NOW - timedelta(minutes=2)
    fake_railway.log(DEPLOYMENT, railway_stamp(at, nanos=1), "first")
    assert crawl(source).lines == 1
    fake_railway.log(DEPLOYMENT, railway_stamp(at, nanos=2), "second, 1 ns later")

    assert crawl(source, NOW + timedelta(seconds=5)).lines == 1
    assert stored() == ["first", "second, 1 ns later"]


def test_a_short_retry_after_is_waited_out_and_the_status_says_so(
    fake_railway: FakeRailway, source: LogSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(RailwaySource, "sleep", staticmethod(waits.append))
    lines_before_now(fake_railway, 3, prefix="x")
    fake_railway.script(Scripted(429, {"message": "rate limited"}, {"Retry-After": "2"}))

    report = crawl(source)

    assert report.status == SourceStatus.OK
    assert report.lines == 3
    assert waits == [2.0]
    source.refresh_from_db()
    assert "waited 2 s for Railway's rate limit" in source.status_detail


def test_a_long_retry_after_ends_the_crawl_and_holds_the_next_until_then(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    lines_before_now(fake_railway, 3, prefix="x")
    fake_railway.script(Scripted(429, {"message": "rate limited"}, {"Retry-After": "600"}))

    report = crawl(source)

    source.refresh_from_db()
    assert report.status == SourceStatus.RATE_LIMITED
    assert source.status == SourceStatus.RATE_LIMITED
    assert source.retry_after == NOW + timedelta(seconds=600)
    assert "retry after 600 s" in source.status_detail
    assert LogEntry.objects.count() == 0

    held = crawl_source_once(source=source, now=NOW + timedelta(minutes=5))
    assert held.skipped and "rate limited until" in held.detail

    after = crawl_source_once(source=source, now=NOW + timedelta(minutes=11))
    assert after.status == SourceStatus.OK and after.lines == 3


def test_graphql_errors_inside_a_200_are_errors_not_empty_pages(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    lines_before_now(fake_railway, 3, prefix="x")
    assert crawl(source).lines == 3
    source.refresh_from_db()
    cursor_before = source.cursor
    fake_railway.log(DEPLOYMENT, railway_stamp(NOW + timedelta(seconds=1)), "new")
    fake_railway.script(
        Scripted(200, {"data": None, "errors": [{"message": "Problem processing request"}]})
    )

    report = crawl(source, NOW + timedelta(minutes=1))

    source.refresh_from_db()
    assert report.status == SourceStatus.ERROR
    assert "Problem processing request" in source.last_error
    assert source.cursor == cursor_before
    assert crawl(source, NOW + timedelta(minutes=2)).lines == 1


def test_a_refused_token_is_reported_and_never_shown(
    fake_railway: FakeRailway, source: LogSource, settings: Any
) -> None:
    settings.RAILWAY_TOKEN = "wrong-secret-token-value"

    report = crawl(source)

    source.refresh_from_db()
    assert report.status == SourceStatus.ERROR
    assert "Not Authorized" in source.last_error
    assert "wrong-secret" not in source.last_error + source.status_detail


def test_account_tokens_are_sent_as_bearer(fake_railway: FakeRailway, source: LogSource) -> None:
    crawl(source)

    headers = fake_railway.requests[0].headers
    assert headers["Authorization"] == f"Bearer {fake_railway.token}"
    assert "Project-Access-Token" not in headers


def test_project_tokens_go_in_their_own_header(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    fake_railway.project_token = "proj-secret-1"
    source.secret = "proj-secret-1"
    source.settings = {**source.settings, "token_kind": "project"}
    source.save()
    lines_before_now(fake_railway, 2, prefix="x")

    report = crawl(source)

    assert report.status == SourceStatus.OK and report.lines == 2
    headers = fake_railway.requests[0].headers
    assert headers["Project-Access-Token"] == "proj-secret-1"
    assert "Authorization" not in headers


def test_http_logs_become_access_entries_with_levels_from_their_status(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    source.settings = {**source.settings, "http_logs": True}
    source.save()
    at = NOW - timedelta(minutes=3)
    fake_railway.request_log(DEPLOYMENT, railway_stamp(at), "GET", "/orders/8812", 200)
    fake_railway.request_log(DEPLOYMENT, railway_stamp(at, 5), "POST", "/checkout", 503)
    fake_railway.request_log(DEPLOYMENT, railway_stamp(at, 9), "POST", "/checkout", 502)

    assert crawl(source).lines == 3

    levels = dict(LogEntry.objects.values_list("message", "level"))
    assert levels["GET /orders/8812 200 12ms"] == "INFO"
    assert levels["POST /checkout 503 12ms"] == "ERROR"
    failing = ErrorFingerprint.objects.get(status_class="5xx")
    assert (failing.kind, failing.template, failing.total_count) == (
        "http",
        "POST /checkout 5xx",
        2,
    )


def test_a_traceback_sent_one_line_per_record_is_one_entry(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    source.settings = {**source.settings, "limit": 100}
    source.save()
    lines = [
        "Failed to price cart 77",
        "Traceback (most recent call last):",
        '  File "/app/shop/pricing.py", line 17, in price',
        "    return rates[cart.country]",
        "KeyError: 'NO'",
        "GET /healthz 200",
    ]
    at = NOW - timedelta(minutes=1)
    for n, line in enumerate(lines):
        severity = "error" if n < 5 else "info"
        fake_railway.log(DEPLOYMENT, railway_stamp(at, n), line, severity=severity)

    assert crawl(source).lines == 2

    joined = LogEntry.objects.get(level="ERROR")
    assert joined.message == "\n".join(lines[:5])
    assert joined.fingerprint is not None and joined.fingerprint.kind == "traceback"
    assert joined.attributes["deploymentId"] == DEPLOYMENT


def test_a_deployment_that_stops_is_read_once_more_then_forgotten(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    lines_before_now(fake_railway, 2, prefix="old")
    crawl(source)
    fake_railway.log(DEPLOYMENT, railway_stamp(NOW + timedelta(seconds=2)), "last words")
    fake_railway.deploy("dep-2")
    fake_railway.deploy(DEPLOYMENT, status="REMOVED")
    fake_railway.log("dep-2", railway_stamp(NOW + timedelta(seconds=3)), "hello from dep-2")

    report = crawl(source, NOW + timedelta(minutes=1))

    assert report.lines == 2
    assert stored()[-2:] == ["last words", "hello from dep-2"]
    source.refresh_from_db()
    assert set(source.cursor["deployments"]) == {"dep-2"}


def test_unknown_service_names_are_an_error(fake_railway: FakeRailway, source: LogSource) -> None:
    source.settings = {**source.settings, "services": ["api", "worker"]}
    source.save()

    crawl(source)

    source.refresh_from_db()
    assert source.status == SourceStatus.ERROR
    assert "worker" in source.last_error


def test_no_token_anywhere_is_an_error(
    fake_railway: FakeRailway, source: LogSource, settings: Any
) -> None:
    settings.RAILWAY_TOKEN = ""

    crawl(source)

    source.refresh_from_db()
    assert "no Railway token" in source.last_error
    assert fake_railway.requests == []
