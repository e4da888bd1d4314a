"""The page's trend: a point per day (its last scan), a kind's series from the scans that
counted kinds, and the chart's geometry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from codehealth.models import Repository, RepositoryKind, Scan
from codehealth.services.trend import TrendPoint, open_trend, trend_chart, weekly_trend_chart

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def done(repository: Repository, at: datetime, counts: dict[str, dict[str, int]]) -> Scan:
    return Scan.objects.create(
        repository=repository, status="done", commit="c" * 40, finished_at=at, counts=counts
    )


@pytest.fixture
def repository() -> Repository:
    return Repository.objects.create(name="r", kind=RepositoryKind.LOCAL, path="/nowhere")


def test_a_day_is_its_last_scan_and_old_days_are_left_out(repository: Repository) -> None:
    done(repository, NOW - timedelta(days=120), {"open": {"high": 9}})
    done(repository, NOW - timedelta(days=2, hours=3), {"open": {"high": 1}})
    last_of_day = done(repository, NOW - timedelta(days=2), {"open": {"high": 2, "low": 1}})
    done(repository, NOW, {"open": {"low": 4}})
    Scan.objects.create(repository=repository, status="failed", finished_at=NOW, counts={})

    points = open_trend(repository, now=NOW)

    assert [(p.day, p.total) for p in points] == [(date(2026, 12, 5), 3), (date(2026, 12, 7), 4)]
    assert points[0].scan_id == last_of_day.pk
    assert points[0].by_series == {"critical": 0, "high": 2, "medium": 0, "low": 1, "info": 0}


def test_a_kind_reads_the_counts_by_kind_and_skips_scans_without_them(
    repository: Repository,
) -> None:
    done(repository, NOW - timedelta(days=3), {"open": {"high": 5}})
    done(repository, NOW - timedelta(days=1), {"open": {"high": 5}, "open_by_kind": {"lint": 3}})
    done(repository, NOW, {"open": {"high": 1}, "open_by_kind": {"type": 1}})

    points = open_trend(repository, kind="lint", now=NOW)

    assert [(p.day, p.by_series) for p in points] == [
        (date(2026, 12, 6), {"lint": 3}),
        (date(2026, 12, 7), {"lint": 0}),
    ]


def test_the_chart_stacks_the_severities_on_round_ticks() -> None:
    points = [
        TrendPoint(date(2026, 12, 1), 1, "", {"high": 3, "low": 2}),
        TrendPoint(date(2026, 12, 3), 2, "", {"high": 1, "low": 6}),
    ]

    chart = trend_chart(points)

    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6", "8"]
    assert [b.name for b in chart.bands] == ["high", "low"]
    assert len(chart.markers) == 2 and chart.latest == 7 and chart.change == 2
    assert chart.markers[0].x == chart.left and chart.markers[1].x == chart.right
    top_of_eight = chart.bottom - (chart.bottom - chart.top) * 7 / 8
    assert chart.markers[1].y == pytest.approx(top_of_eight)
    assert chart.markers[1].label == "2026-12-03: 7 open (1 high, 6 low), scan #2"
    assert [t.label for t in chart.x_ticks] == ["Dec 01", "Dec 03"]


def test_no_points_is_an_empty_chart_and_one_point_a_bar() -> None:
    assert trend_chart([]).empty
    one = trend_chart([TrendPoint(date(2026, 12, 1), 1, "", {"medium": 0})])
    assert not one.empty and one.bands == [] and one.y_ticks[-1].label == "4"
    bar = trend_chart([TrendPoint(date(2026, 12, 1), 1, "", {"medium": 2})])
    assert len(bar.bands[0].points.split()) == 4


def test_the_weekly_chart_skips_weeks_without_a_figure() -> None:
    chart = weekly_trend_chart(
        [
            {"week": "2026-11-16", "open": None},
            {"week": "2026-11-23", "open": 5},
            {"week": "2026-11-30", "open": 3},
        ]
    )
    assert [m.label for m in chart.markers] == [
        "2026-11-23: 5 open at the week's end",
        "2026-11-30: 3 open at the week's end",
    ]
