"""`{% load times %}`: every instant on a page written one way, in UTC (the footer says so once).

`{{ at|utc }}` writes `2026-12-08 01:23:45`; `{{ at|utc:"minutes" }}`, `"time"` and `"date"`
shorten it. `{{ at|ago }}` writes "3 minutes ago". Both are a `<time>` element whose
`datetime` is the exact instant and whose tooltip is the full UTC time, so a relative time can
always be read exactly. The admin writes instants the same way (`config/formats/en`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.html import format_html

register = template.Library()

PRECISIONS = {
    "seconds": "%Y-%m-%d %H:%M:%S",
    "minutes": "%Y-%m-%d %H:%M",
    "time": "%H:%M:%S",
    "date": "%Y-%m-%d",
}
EXACT = PRECISIONS["seconds"]
NOTHING = "—"


def _in_utc(value: datetime) -> datetime:
    # A naive instant is already UTC here (USE_TZ, TIME_ZONE = "UTC").
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _element(at: datetime, text: str, css: str = "") -> str:
    return format_html(
        '<time datetime="{}" title="{} UTC"{}>{}</time>',
        at.isoformat().replace("+00:00", "Z"),
        at.strftime(EXACT),
        format_html(' class="{}"', css) if css else "",
        text,
    )


@register.filter
def utc(value: datetime | date | None, precision: str = "seconds") -> str:
    if value is None or value == "":
        return NOTHING
    if not isinstance(value, datetime):
        return value.strftime(PRECISIONS["date"]) if isinstance(value, date) else str(value)
    at = _in_utc(value)
    return _element(at, at.strftime(PRECISIONS.get(precision, EXACT)))


@register.filter
def ago(value: datetime | None) -> str:
    if value is None or value == "":
        return NOTHING
    at = _in_utc(value)
    return _element(at, str(naturaltime(at)), "ago")
