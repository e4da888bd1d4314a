"""Chat tools: the top errors, a search over entries, one fingerprint's detail.

Registered into chat's tool registry in `LogcrawlerConfig.ready()`; read-only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from chat.tools import Tool, ToolContext, ToolError, register_tool
from logcrawler.models import Alert, ErrorFingerprint, LogEntry
from logcrawler.services.entries import search_entries
from logcrawler.services.health import RANGES, get_range, occurrence_series, top_errors

SEARCH_LIMIT = 50
SAMPLE_LIMIT = 10
MESSAGE_CHARS = 2000


def _fingerprint_row(fingerprint: ErrorFingerprint) -> dict[str, Any]:
    return {
        "id": fingerprint.id,
        "template": fingerprint.template[:MESSAGE_CHARS],
        "kind": fingerprint.kind,
        "service": fingerprint.service,
        "level": fingerprint.level,
        "state": fingerprint.state,
        "total_count": fingerprint.total_count,
        "first_seen": fingerprint.first_seen.isoformat(),
        "last_seen": fingerprint.last_seen.isoformat(),
        "task": fingerprint.task_id,
    }


def _entry_row(entry: LogEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "ts": entry.ts.isoformat(),
        "level": entry.level,
        "service": entry.service,
        "message": entry.message[:MESSAGE_CHARS],
        "fingerprint": entry.fingerprint_id,
    }


def _fingerprint_problems(fingerprint: str, field: str) -> list[str]:
    if ErrorFingerprint.objects.filter(pk=fingerprint).exists():
        return []
    top = top_errors(range_name="week", limit=5, service="")
    shown = ", ".join(f"{row.fingerprint.id} ({row.fingerprint.template[:60]!r})" for row in top)
    return [
        f"{field}: no fingerprint {fingerprint!r}; the top ones this week: "
        f"{shown or 'none'} (logs_top_errors lists more)"
    ]


def _service_problems(service: str) -> list[str]:
    services = sorted(
        set(ErrorFingerprint.objects.order_by().values_list("service", flat=True).distinct()) - {""}
    )
    if service in services:
        return []
    return [
        f"service: no log lines from {service!r}; the services: {', '.join(services) or 'none'}"
    ]


def check_search(context: ToolContext, arguments: dict[str, Any]) -> list[str]:
    """A group or a service that does not exist is a guess: say which exist."""
    problems = []
    if arguments.get("fingerprint"):
        problems += _fingerprint_problems(str(arguments["fingerprint"]), "fingerprint")
    if arguments.get("service"):
        problems += _service_problems(str(arguments["service"]))
    return problems


def check_fingerprint(context: ToolContext, arguments: dict[str, Any]) -> list[str]:
    return _fingerprint_problems(str(arguments["fingerprint"]), "fingerprint")


def logs_top_errors(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    range_name = str(arguments.get("range") or "day")
    rows = top_errors(
        range_name=range_name,
        limit=int(arguments.get("limit") or 10),
        service=str(arguments.get("service") or ""),
    )
    return {
        "range": get_range(range_name).name,
        "errors": [{**_fingerprint_row(row.fingerprint), "count": row.count} for row in rows],
    }


def logs_search_entries(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    since = timezone.now() - timedelta(minutes=int(arguments.get("since_minutes") or 1440))
    entries = search_entries(
        text=str(arguments.get("query") or ""),
        service=str(arguments.get("service") or ""),
        min_level=str(arguments.get("min_level") or ""),
        fingerprint=str(arguments.get("fingerprint") or ""),
        since=since,
    )
    limit = min(int(arguments.get("limit") or 20), SEARCH_LIMIT)
    rows = [_entry_row(entry) for entry in entries[:limit]]
    return {"count": len(rows), "entries": rows}


def logs_fingerprint_detail(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    fingerprint = ErrorFingerprint.objects.filter(pk=arguments["fingerprint"]).first()
    if fingerprint is None:
        raise ToolError(f"fingerprint {arguments['fingerprint']} does not exist")
    samples = LogEntry.objects.filter(fingerprint=fingerprint).order_by("-ts", "-id")
    series = occurrence_series([fingerprint.id], range_=RANGES["day"], now=timezone.now())
    alerts = Alert.objects.filter(fingerprint=fingerprint).select_related("rule")[:10]
    return {
        **_fingerprint_row(fingerprint),
        "sample_message": fingerprint.sample_message[:MESSAGE_CHARS],
        "recent_entries": [_entry_row(entry) for entry in samples[:SAMPLE_LIMIT]],
        "hourly_counts_last_day": series[fingerprint.id].counts,
        "alerts": [
            {
                "id": a.pk,
                "rule": a.rule.name,
                "state": a.state,
                "title": a.title,
                "opened_at": a.opened_at.isoformat(),
            }
            for a in alerts
        ],
    }


LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

LOGCRAWLER_TOOLS = (
    Tool(
        name="logs_top_errors",
        description="The error fingerprints (ERROR or worse, not muted) with the most "
        "occurrences over the last hour, day or week, with state, counts and first/last seen.",
        parameters={
            "type": "object",
            "properties": {
                "range": {"type": "string", "enum": list(RANGES)},
                "service": {"type": "string", "description": "Only this service."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
            "additionalProperties": False,
        },
        function=logs_top_errors,
        check=check_search,
    ),
    Tool(
        name="logs_search_entries",
        description="Search stored log entries, newest first: text in the message, service, "
        "minimum level, fingerprint id, and how far back (minutes, default a day).",
        parameters={
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "service": {"type": "string"},
                "min_level": {"type": "string", "enum": LEVELS},
                "fingerprint": {"type": "string"},
                "since_minutes": {"type": "integer", "minimum": 1, "maximum": 43200},
                "limit": {"type": "integer", "minimum": 1, "maximum": SEARCH_LIMIT},
            },
            "additionalProperties": False,
        },
        function=logs_search_entries,
        check=check_search,
    ),
    Tool(
        name="logs_fingerprint_detail",
        description="One error fingerprint: its template, state, counts, a sample, its most "
        "recent entries, hourly counts over the last day, its alerts and its task.",
        parameters={
            "type": "object",
            "properties": {"fingerprint": {"type": "string", "description": "Its id."}},
            "required": ["fingerprint"],
            "additionalProperties": False,
        },
        function=logs_fingerprint_detail,
        check=check_fingerprint,
    ),
)


def register() -> None:
    for tool in LOGCRAWLER_TOOLS:
        register_tool(tool)
