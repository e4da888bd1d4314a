"""The incident page's occurrence chart: its groups' occurrences over the incident's life,
one bar per bucket (the log crawler's occurrence rows, summed over the groups), a marker
where the fix was applied and the verification window shaded. Drawn on the server as
inline SVG: the chart is coordinates, the template draws them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.models import Incident
from logcrawler.services.health import Range, Series, Unit, occurrence_series

WIDTH, HEIGHT = 720, 140
MINUTE_BUCKETS_UP_TO = timedelta(hours=6)
LONGEST = timedelta(days=14)
LEAD = timedelta(minutes=30)


@dataclass(frozen=True)
class Shade:
    x: float
    width: float
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    label: str


@dataclass(frozen=True)
class IncidentChart:
    series: Series
    unit: str
    end: datetime
    fix: Marker | None
    window: Shade | None

    @property
    def empty(self) -> bool:
        return self.series.total == 0 and self.fix is None


def _range(start: datetime, end: datetime) -> Range:
    span = min(max(end - start, timedelta(hours=1)), LONGEST)
    unit: Unit = "minute" if span <= MINUTE_BUCKETS_UP_TO else "hour"
    step = timedelta(minutes=1) if unit == "minute" else timedelta(hours=1)
    buckets = -(-span // step) + 1  # whole buckets, and the one holding `end`
    return Range("incident", "Since the incident began", buckets * step, unit)


def _x(series: Series, when: datetime) -> float:
    slot = series.width / max(len(series.counts), 1)
    offset = (when - series.start) / series.step * slot
    return round(min(max(offset, 0.0), float(series.width)), 2)


def incident_chart(incident: Incident, *, now: datetime) -> IncidentChart | None:
    """None when the incident holds no error group (nothing to count)."""
    groups = list(incident.fingerprints.all())
    if not groups:
        return None
    start = min([incident.created_at, *(g.first_seen for g in groups)]) - LEAD
    end = max(now, incident.verify_until or now)
    range_ = _range(start, end)
    per_group = occurrence_series(
        [g.pk for g in groups], range_=range_, now=end, width=WIDTH, height=HEIGHT
    )
    first = next(iter(per_group.values()))
    counts = [sum(column) for column in zip(*(s.counts for s in per_group.values()), strict=True)]
    series = Series(counts, first.start, first.step, width=WIDTH, height=HEIGHT)
    fix = window = None
    if incident.applied_at is not None:
        fix = Marker(
            _x(series, incident.applied_at),
            f"fix applied {incident.applied_at:%Y-%m-%d %H:%M} UTC",
        )
        until = incident.verify_until or incident.verified_at
        if until is not None:
            left = fix.x
            window = Shade(
                left,
                round(max(_x(series, until) - left, 0.5), 2),
                f"verification window until {until:%Y-%m-%d %H:%M} UTC",
            )
    return IncidentChart(series=series, unit=range_.unit, end=end, fix=fix, window=window)
