"""Searching stored log entries: one set of filters for the API and chat's tool."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from logcrawler.levels import levels_at_or_above
from logcrawler.models import LogEntry


def search_entries(
    *,
    text: str = "",
    source: str = "",
    service: str = "",
    level: str = "",
    min_level: str = "",
    fingerprint: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[LogEntry]:
    """The entries that match every filter given, newest first; an empty filter is none.

    `text` is found anywhere in the message, case-insensitively; `source` is a source's name;
    `level` is one level exactly, `min_level` that level or worse (never the unknown level);
    `since` is inclusive and `until` exclusive. Callers page or slice the result.
    """
    lookups = {
        "source__name": source,
        "service": service,
        "level": level,
        "fingerprint_id": fingerprint,
        "message__icontains": text,
        "ts__gte": since,
        "ts__lt": until,
    }
    entries = LogEntry.objects.filter(**{key: value for key, value in lookups.items() if value})
    if min_level:
        entries = entries.filter(level__in=levels_at_or_above(min_level))
    return entries.order_by("-ts", "-id")
