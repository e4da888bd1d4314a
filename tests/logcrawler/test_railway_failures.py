"""The Railway source when part of Railway fails, and its HTTP logs read around an anchor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from logcrawler.models import LogEntry, LogSource, SourceKind, SourceStatus
from logcrawler.services import crawl_source
from tests.logcrawler.fake_railway import FakeRailway, railway_stamp
from tests.logcrawler.helpers import NOW

pytestmark = pytest.mark.django_db

WORKER_ID = "22222222-2222-4222-8222-222222222222"


@pytest.fixture
def source(fake_railway: FakeRailway) -> LogSource:
    """Two services, one deployment each, HTTP logs on (the default)."""
    fake_railway.add_service("worker", WORKER_ID)
    fake_railway.deploy("dep-api", service="api")
    fake_railway.deploy("dep-worker", service="worker")
    return LogSource.objects.create(
        name="railway",
        kind=SourceKind.RAILWAY,
        settings={"project_id": "proj-1", "settle_seconds": 0, "limit": 10},
    )


def crawl(source: LogSource, now: Any = NOW) -> Any:
    source.refresh_from_db()
    return crawl_source(source=source, now=now)


def stored(**filters: Any) -> list[str]:
    rows = LogEntry.objects.filter(**filters).order_by("ts", "id")
    return list(rows.values_list("message", flat=True))


def some_traffic(fake: FakeRailway, *, at: Any = None) -> None:
    at = at or NOW - timedelta(minutes=3)
    for deployment in ("dep-api", "dep-worker"):
        fake.log(deployment, railway_stamp(at), f"{deployment} started")
        fake.request_log(deployment, railway_stamp(at, 5), "GET", f"/{deployment}", 200)


def test_one_failing_query_does_not_stop_the_others_and_is_reported_with_its_reason(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    some_traffic(fake_railway)
    fake_railway.fail("httpLogs", "Problem processing request", deploymentId="dep-api")

    report = crawl(source)

    assert sorted(stored()) == [
        "GET /dep-worker 200 12ms",
        "dep-api started",
        "dep-worker started",
    ]
    source.refresh_from_db()
    assert report.status == SourceStatus.ERROR == source.status
    reason = "HTTP logs of api (deployment dep-api): Railway GraphQL error: Problem processing"
    assert reason in source.last_error
    assert reason in source.status_detail and reason in report.line()
    # The failed stream's cursor did not move; the others did.
    cursors = source.cursor["deployments"]
    assert "http" not in cursors["dep-api"]
    assert cursors["dep-api"]["logs"]["ts"] and cursors["dep-worker"]["http"]["ts"]

    fake_railway.failures.clear()
    report = crawl(source, NOW + timedelta(minutes=1))

    assert report.status == SourceStatus.OK and report.lines == 1
    assert stored(message__startswith="GET /dep-api") == ["GET /dep-api 200 12ms"]


def test_a_service_whose_deployments_cannot_be_listed_does_not_stop_the_others(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    some_traffic(fake_railway)
    crawl(source)
    fake_railway.fail("deployments", "Problem processing request", serviceId=WORKER_ID)
    later = NOW + timedelta(seconds=30)
    for deployment in ("dep-api", "dep-worker"):
        fake_railway.log(deployment, railway_stamp(later), f"{deployment} still here")

    report = crawl(source, NOW + timedelta(minutes=1))

    # The worker's known deployment is still read: only the listing failed.
    assert stored(message__endswith="still here") == ["dep-api still here", "dep-worker still here"]
    assert report.status == SourceStatus.ERROR
    assert "deployments of worker: Railway GraphQL error: Problem processing request" in (
        report.detail
    )
    source.refresh_from_db()
    assert set(source.cursor["deployments"]) == {"dep-api", "dep-worker"}


def test_a_stopped_deployment_whose_last_read_failed_is_read_again_before_it_is_dropped(
    fake_railway: FakeRailway, source: LogSource
) -> None:
    some_traffic(fake_railway)
    crawl(source)
    fake_railway.deploy("dep-api", status="REMOVED")
    fake_railway.log("dep-api", railway_stamp(NOW + timedelta(seconds=5)), "last words")
    fake_railway.fail("deploymentLogs", "Problem processing request", deploymentId="dep-api")

    crawl(source, NOW + timedelta(minutes=1))
    source.refresh_from_db()
    assert "dep-api" in source.cursor["deployments"]

    fake_railway.failures.clear()
    crawl(source, NOW + timedelta(minutes=2))

    source.refresh_from_db()
    assert stored(message="last words") == ["last words"]
    assert "dep-api" not in source.cursor["deployments"]


@pytest.mark.parametrize("anchor_before", [True, False], ids=["anchor-before", "anchor-after"])
@pytest.mark.parametrize("cut", ["nearest", "farthest"])
def test_http_logs_are_each_stored_once_whichever_way_railway_reads_the_anchor(
    fake_railway: FakeRailway, source: LogSource, anchor_before: bool, cut: str
) -> None:
    fake_railway.anchor_before = anchor_before
    fake_railway.cut_http = cut
    start = NOW - timedelta(minutes=30)
    for n in range(25):
        status = 503 if n % 5 == 0 else 200
        fake_railway.request_log(
            "dep-api", railway_stamp(start, n * 1000), "GET", f"/o/{n}", status
        )
    # One on the very instant the crawl's window ends (the anchor).
    fake_railway.request_log("dep-api", railway_stamp(NOW), "GET", "/o/edge", 200)

    crawl(source)
    more = NOW + timedelta(seconds=20)
    for n in range(25, 30):
        fake_railway.request_log("dep-api", railway_stamp(more, n), "GET", f"/o/{n}", 200)
    crawl(source, NOW + timedelta(minutes=1))
    assert crawl(source, NOW + timedelta(minutes=2)).lines == 0

    paths = sorted(stored(message__startswith="GET /o/"))
    expected = sorted(f"GET /o/{n} {503 if n < 25 and n % 5 == 0 else 200} 12ms" for n in range(30))
    assert paths == sorted([*expected, "GET /o/edge 200 12ms"])
    sent = [r.variables for r in fake_railway.requests if "httpLogs" in r.query]
    assert all(v["afterLimit"] == 0 and v["beforeLimit"] == 10 for v in sent)
