"""Small builders the log crawler's tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from logcrawler.fingerprint import ParsedEntry, make_entry
from logcrawler.models import AlertRule, LogSource, RuleKind, SourceKind
from logcrawler.services import IngestResult, ingest_entries

NOW = datetime(2025, 6, 2, 12, 0, 30, tzinfo=UTC)

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/shop/views.py", line 41, in checkout\n'
    "    total = price(cart)\n"
    '  File "/app/shop/pricing.py", line 17, in price\n'
    "    return rates[cart.country]\n"
    "KeyError: 'NO'"
)


def entry(
    message: str,
    *,
    at: datetime = NOW,
    level: str = "ERROR",
    service: str = "api",
    attributes: dict[str, Any] | None = None,
) -> ParsedEntry:
    return make_entry(
        message=message, timestamp=at, level=level, service=service, attributes=attributes
    )


def ingest(
    *entries: ParsedEntry, source: LogSource | None = None, now: datetime = NOW
) -> IngestResult:
    return ingest_entries(source=source, entries=list(entries), now=now)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def access(status: int, *, at: datetime, path: str = "/api/orders/17") -> ParsedEntry:
    return make_entry(
        message=f'10.0.0.1 - "GET {path} HTTP/1.1" {status}',
        timestamp=at,
        level="INFO",
        service="api",
    )


def rule(kind: RuleKind, **fields: Any) -> AlertRule:
    return AlertRule.objects.create(name=fields.pop("name", kind.value), kind=kind, **fields)


def file_source(path: Any, **settings: Any) -> LogSource:
    return LogSource.objects.create(
        name=f"file-{path.name}", kind=SourceKind.FILE, settings={"path": str(path), **settings}
    )
