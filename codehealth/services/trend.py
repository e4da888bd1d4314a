"""The code-health page's trend: open findings at the last scan of each day, and the chart's
geometry, drawn as inline SVG by the template (no script, no chart library).

The series are stacked by severity (most severe at the bottom); for one kind there is one
series, read from the scans' ``open_by_kind`` counts (scans older than those counts have no
figure by kind and are left out, not drawn as zero)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from codehealth.models import SEVERITY_ORDER, Repository, Scan

TREND_DAYS = 90
WIDTH, HEIGHT = 1100, 220
WEEKLY_WIDTH = 720  # the report's chart is half the page wide
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


@dataclass(frozen=True)
class TrendPoint:
    day: date
    scan_id: int
    commit: str
    by_series: dict[str, int]
    what: str = "open"

    @property
    def total(self) -> int:
        return sum(self.by_series.values())

    @property
    def label(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in self.by_series.items() if n)
        split = f" ({parts or 'none'})" if len(self.by_series) > 1 else ""
        scan = f", scan #{self.scan_id}" if self.scan_id else ""
        return f"{self.day:%Y-%m-%d}: {self.total} {self.what}{split}{scan}"


def open_trend(
    repository: Repository, *, kind: str = "", days: int = TREND_DAYS, now: datetime | None = None
) -> list[TrendPoint]:
    """One point per day that had a finished scan, the day's last scan, oldest first."""
    since = (now or timezone.now()) - timedelta(days=days)
    scans = (
        Scan.objects.done()
        .filter(repository=repository, finished_at__gte=since)
        .order_by("finished_at", "id")
        .only("id", "commit", "counts", "finished_at")
    )
    by_day: dict[date, TrendPoint] = {}
    for scan in scans:
        assert scan.finished_at is not None  # done scans have finished
        if kind:
            by_kind = scan.counts.get("open_by_kind")
            if by_kind is None:
                continue
            series = {kind: int(by_kind.get(kind, 0))}
        else:
            opened = scan.counts.get("open") or {}
            series = {s: int(opened.get(s, 0)) for s in SEVERITY_ORDER}
        day = scan.finished_at.date()
        by_day[day] = TrendPoint(day, scan.pk, scan.commit, series)
    return list(by_day.values())


@dataclass(frozen=True)
class Band:
    name: str
    points: str  # an SVG polygon's points


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class TrendChart:
    width: int = WIDTH
    height: int = HEIGHT
    bands: list[Band] = field(default_factory=list)
    line: str = ""  # the total's polyline
    markers: list[Marker] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    latest: int | None = None
    change: int | None = None  # the latest point against the first

    @property
    def empty(self) -> bool:
        return not self.markers


def _tick_step(value: int) -> int:
    """The smallest of 1, 2 or 5 times a power of ten whose four steps reach `value`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * step * factor >= value:
                return step * factor
        step *= 10


def _fmt(n: float) -> str:
    return f"{n:.1f}"


def trend_chart(points: list[TrendPoint], *, width: int = WIDTH) -> TrendChart:
    chart = TrendChart(width=width, right=width - RIGHT)
    if not points:
        return chart
    series = list(points[0].by_series)
    step = _tick_step(max(p.total for p in points))
    top = 4 * step
    first, last = points[0].day, points[-1].day
    span = max((last - first).days, 1)
    plot_w, plot_h = chart.right - chart.left, chart.bottom - chart.top

    def x_of(day: date) -> float:
        if first == last:
            return chart.left + plot_w / 2
        return chart.left + plot_w * (day - first).days / span

    def y_of(value: float) -> float:
        return chart.bottom - plot_h * value / top

    xs = [x_of(p.day) for p in points]
    lower = [0] * len(points)
    for name in series:
        upper = [lower[i] + p.by_series.get(name, 0) for i, p in enumerate(points)]
        if any(upper[i] != lower[i] for i in range(len(points))):
            edge = [f"{_fmt(x)},{_fmt(y_of(u))}" for x, u in zip(xs, upper, strict=True)]
            floor = [f"{_fmt(x)},{_fmt(y_of(v))}" for x, v in zip(xs, lower, strict=True)]
            if len(points) == 1:  # a lone day is drawn as a narrow bar, not a line
                x = xs[0]
                edge = [
                    f"{_fmt(x - 4)},{_fmt(y_of(upper[0]))}",
                    f"{_fmt(x + 4)},{_fmt(y_of(upper[0]))}",
                ]
                floor = [
                    f"{_fmt(x - 4)},{_fmt(y_of(lower[0]))}",
                    f"{_fmt(x + 4)},{_fmt(y_of(lower[0]))}",
                ]
            chart.bands.append(Band(name, " ".join(edge + floor[::-1])))
        lower = upper
    chart.line = " ".join(
        f"{_fmt(x)},{_fmt(y_of(p.total))}" for x, p in zip(xs, points, strict=True)
    )
    for x, p in zip(xs, points, strict=True):
        chart.markers.append(Marker(x, y_of(p.total), p.label))
    chart.y_ticks = [Tick(y_of(step * i), str(step * i)) for i in range(5)]
    chart.x_ticks = [Tick(x_of(first), f"{first:%b %d}")]
    if last != first:
        chart.x_ticks.append(Tick(x_of(last), f"{last:%b %d}"))
    chart.latest = points[-1].total
    chart.change = points[-1].total - points[0].total
    return chart


def weekly_trend_chart(weeks: list[dict[str, Any]]) -> TrendChart:
    """A weekly report's trend: open findings at the end of each week that had a figure."""
    points = [
        TrendPoint(
            date.fromisoformat(w["week"]), 0, "", {"open": int(w["open"])}, "open at the week's end"
        )
        for w in weeks
        if w.get("open") is not None
    ]
    return trend_chart(points, width=WEEKLY_WIDTH)
