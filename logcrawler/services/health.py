"""What the system-health page and the chat tools read: top errors with their sparklines,
a fingerprint's occurrence series, open alerts, the sources' health.

Every read is bounded: the top list is one GROUP BY over the occurrence rows of the range,
the series one GROUP BY per bucket for the listed fingerprints only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from logcrawler.models import (
    ERROR_LEVEL_NO,
    Alert,
    ErrorFingerprint,
    ErrorOccurrence,
    FingerprintState,
    LogSource,
    SourceStatus,
)

Unit = Literal["minute", "hour"]


@dataclass(frozen=True)
class Range:
    name: str
    label: str
    span: timedelta
    unit: Unit

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=1) if self.unit == "minute" else timedelta(hours=1)

    @property
    def buckets(self) -> int:
        return int(self.span / self.step)


RANGES = {
    "hour": Range("hour", "Last hour", timedelta(hours=1), "minute"),
    "day": Range("day", "Last day", timedelta(days=1), "hour"),
    "week": Range("week", "Last week", timedelta(days=7), "hour"),
}
DEFAULT_RANGE = "day"


def get_range(name: str) -> Range:
    return RANGES.get(name, RANGES[DEFAULT_RANGE])


@dataclass(frozen=True)
class Series:
    """Counts per bucket, oldest first, and their SVG drawing in a width x height box."""

    counts: list[int]
    start: datetime
    step: timedelta
    width: int = 120
    height: int = 28

    @property
    def peak(self) -> int:
        return max(self.counts, default=0)

    @property
    def total(self) -> int:
        return sum(self.counts)

    def _y(self, count: int) -> float:
        usable = self.height - 2
        return round(self.height - 1 - (count / self.peak * usable if self.peak else 0), 2)

    @property
    def points(self) -> str:
        """A polyline's points: one per bucket, spread over the width."""
        if not self.counts:
            return ""
        last = max(len(self.counts) - 1, 1)
        return " ".join(
            f"{round(index * self.width / last, 2)},{self._y(count)}"
            for index, count in enumerate(self.counts)
        )

    @property
    def area(self) -> str:
        if not self.counts:
            return ""
        return f"0,{self.height} {self.points} {self.width},{self.height}"

    def bars(self) -> list[tuple[float, float, float, int, datetime]]:
        """(x, y, height, count, bucket start) per bucket, for a bar chart."""
        slot = self.width / max(len(self.counts), 1)
        bars = []
        for index, count in enumerate(self.counts):
            y = self._y(count) if count else self.height - 1
            bars.append(
                (
                    round(index * slot, 2),
                    y,
                    round(self.height - 1 - y, 2),
                    count,
                    self.start + index * self.step,
                )
            )
        return bars

    @property
    def bar_width(self) -> float:
        return round(max(self.width / max(len(self.counts), 1) - 0.6, 0.4), 2)


def _floor(when: datetime, unit: Unit) -> datetime:
    when = when.astimezone(UTC).replace(second=0, microsecond=0)
    return when.replace(minute=0) if unit == "hour" else when


def occurrence_series(
    fingerprint_ids: Iterable[str],
    *,
    range_: Range,
    now: datetime,
    width: int = 120,
    height: int = 28,
) -> dict[str, Series]:
    ids = list(fingerprint_ids)
    end = _floor(now, range_.unit)
    start = end - (range_.buckets - 1) * range_.step
    counts = {fid: [0] * range_.buckets for fid in ids}
    rows = (
        ErrorOccurrence.objects.filter(fingerprint_id__in=ids, minute__gte=start)
        .annotate(bucket=Trunc("minute", range_.unit, tzinfo=UTC))
        .values("fingerprint_id", "bucket")
        .annotate(n=Sum("count"))
    )
    for row in rows:
        index = int((row["bucket"] - start) / range_.step)
        if 0 <= index < range_.buckets:
            counts[row["fingerprint_id"]][index] += row["n"]
    return {
        fid: Series(values, start, range_.step, width=width, height=height)
        for fid, values in counts.items()
    }


@dataclass(frozen=True)
class TopError:
    fingerprint: ErrorFingerprint
    count: int
    series: Series


def top_errors(
    *,
    range_name: str = DEFAULT_RANGE,
    limit: int = 20,
    now: datetime | None = None,
    min_level_no: int = ERROR_LEVEL_NO,
    service: str = "",
    include_muted: bool = False,
) -> list[TopError]:
    """The fingerprints with the most occurrences in the range, at ERROR or worse unless
    `min_level_no` says otherwise."""
    now = now or timezone.now()
    range_ = get_range(range_name)
    since = _floor(now, range_.unit) - (range_.buckets - 1) * range_.step
    occurrences = ErrorOccurrence.objects.filter(
        minute__gte=since, fingerprint__level_no__gte=min_level_no
    )
    if not include_muted:
        occurrences = occurrences.exclude(fingerprint__state=FingerprintState.MUTED)
    if service:
        occurrences = occurrences.filter(fingerprint__service=service)
    ranked = list(
        occurrences.values("fingerprint_id")
        .annotate(n=Sum("count"))
        .order_by("-n", "fingerprint_id")[:limit]
    )
    ids = [row["fingerprint_id"] for row in ranked]
    fingerprints = ErrorFingerprint.objects.select_related("task").in_bulk(ids)
    series = occurrence_series(ids, range_=range_, now=now)
    return [
        TopError(fingerprints[row["fingerprint_id"]], row["n"], series[row["fingerprint_id"]])
        for row in ranked
        if row["fingerprint_id"] in fingerprints
    ]


def open_alerts(limit: int = 50) -> list[Alert]:
    return list(
        Alert.objects.open()
        .select_related("rule", "fingerprint", "task")
        .order_by("-opened_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class SourceHealth:
    source: LogSource
    healthy: bool
    stale: bool
    summary: str


def sources_health(*, now: datetime | None = None) -> list[SourceHealth]:
    """Each source with a one-line verdict; a pulled source is stale when it has not been
    crawled for three crawl intervals."""
    now = now or timezone.now()
    stale_after = timedelta(minutes=3 * settings.LOGCRAWLER_CRAWL_MINUTES)
    rows = []
    for source in LogSource.objects.order_by("name"):
        pulled = source.kind != "http"
        stale = bool(
            pulled
            and source.enabled
            and (source.last_crawl_at is None or now - source.last_crawl_at > stale_after)
        )
        if not source.enabled:
            summary = "disabled"
        elif source.status == SourceStatus.RATE_LIMITED:
            summary = source.status_detail or "rate limited"
        elif source.status == SourceStatus.ERROR:
            summary = source.last_error
        elif not pulled:
            summary = "receives pushed batches"
        elif source.last_crawl_at is None:
            summary = "not crawled yet"
        else:
            summary = source.status_detail
        healthy = (
            source.enabled
            and source.status in (SourceStatus.OK, SourceStatus.NEW)
            and (not stale or not pulled)
        )
        rows.append(SourceHealth(source, healthy, stale, summary))
    return rows
