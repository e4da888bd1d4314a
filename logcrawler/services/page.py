"""The system-health page's context, shared by the page and its live fragment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from logcrawler.models import (
    ERROR_LEVEL_NO,
    WARNING_LEVEL_NO,
    Alert,
    ErrorFingerprint,
    ErrorOccurrence,
    FingerprintState,
)
from logcrawler.services.health import (
    RANGES,
    get_range,
    open_alerts,
    sources_health,
    top_errors,
)

TOP_SHOWN = 20


@dataclass(frozen=True)
class Summary:
    entries_last_hour: int
    errors_last_hour: int
    open_alerts: int
    firing_alerts: int
    new_fingerprints: int
    regressed_fingerprints: int

    @property
    def pending_alerts(self) -> int:
        return self.open_alerts - self.firing_alerts


def summary(now: datetime) -> Summary:
    hour = ErrorOccurrence.objects.filter(minute__gte=now - timedelta(hours=1)).aggregate(
        total=Sum("count"),
        errors=Sum("count", filter=Q(fingerprint__level_no__gte=ERROR_LEVEL_NO)),
    )
    alerts = Alert.objects.open().aggregate(
        total=Count("id"), firing=Count("id", filter=Q(state="firing"))
    )
    states = dict(
        ErrorFingerprint.objects.errors()
        .filter(state__in=[FingerprintState.NEW, FingerprintState.REGRESSED])
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )
    return Summary(
        entries_last_hour=hour["total"] or 0,
        errors_last_hour=hour["errors"] or 0,
        open_alerts=alerts["total"] or 0,
        firing_alerts=alerts["firing"] or 0,
        new_fingerprints=states.get(FingerprintState.NEW, 0),
        regressed_fingerprints=states.get(FingerprintState.REGRESSED, 0),
    )


def health_context(
    *, range_name: str, include_warnings: bool, return_to: str, include_muted: bool = False
) -> dict[str, Any]:
    now = timezone.now()
    range_ = get_range(range_name)
    return {
        "now": now,
        "ranges": list(RANGES.values()),
        "range": range_,
        "include_warnings": include_warnings,
        "include_muted": include_muted,
        "top": top_errors(
            range_name=range_.name,
            limit=TOP_SHOWN,
            now=now,
            min_level_no=WARNING_LEVEL_NO if include_warnings else ERROR_LEVEL_NO,
            include_muted=include_muted,
        ),
        "alerts": open_alerts(),
        "sources": sources_health(now=now),
        "summary": summary(now),
        "return_to": return_to,
    }
