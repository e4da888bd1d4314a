"""The HTTP ingest source: entries are pushed to ``POST /api/logs/ingest/``, never pulled.

A body is a JSON array (or ``{"entries": [...]}``), NDJSON (one JSON value per line), or
plain text (one raw log line per line). Each entry is an object with a ``message`` and
optional ``timestamp``, ``level``, ``service`` and ``attributes``, or a string holding a raw
log line. Bad entries are reported by index with a reason; the good ones are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from logcrawler.fingerprint import ParsedEntry, make_entry, normalise_level, parse_line
from logcrawler.fingerprint.parse import parse_timestamp
from logcrawler.sources.base import SourceAdapter, register_source_kind
from logcrawler.sources.cursor import ns_to_datetime, parse_rfc3339_ns
from logcrawler.sources.multiline import join_entries, join_lines

MAX_MESSAGE_CHARS = 65_536
MAX_SERVICE_CHARS = 100
JSON_TYPES = ("application/json",)
NDJSON_TYPES = (
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
)
TEXT_TYPES = ("text/plain",)


class PayloadError(ValueError):
    """The body as a whole cannot be read (not JSON, wrong shape)."""


class UnsupportedMediaType(ValueError):
    pass


class TooManyEntries(PayloadError):
    """More entries in one body than LOGCRAWLER_INGEST_MAX_ENTRIES allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The body holds more than {limit} entries, the most one request may carry "
            "(LOGCRAWLER_INGEST_MAX_ENTRIES); send smaller batches."
        )
        self.limit = limit


def control_characters_problem(name: str, value: str) -> str:
    """Why ``value`` cannot be a service name, or '' when it can: PostgreSQL text cannot
    hold NUL, and no name needs a control character."""
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        return f"{name} must not contain control characters (NUL, newlines, ...)"
    return ""


@dataclass(frozen=True)
class Rejected:
    index: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason}


@dataclass
class ParsedBody:
    entries: list[ParsedEntry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    received: int = 0


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool):
        raise ValueError("timestamp must be RFC 3339 text or epoch seconds")
    if isinstance(value, int | float):
        parsed = parse_timestamp(str(value))
    elif isinstance(value, str):
        try:
            return ns_to_datetime(parse_rfc3339_ns(value))
        except ValueError:
            parsed = parse_timestamp(value)
    else:
        raise ValueError("timestamp must be RFC 3339 text or epoch seconds")
    if parsed is None:
        raise ValueError(f"timestamp {str(value)[:40]!r} is not a date and time")
    return parsed


def entry_from_item(item: Any, *, service: str) -> ParsedEntry:
    """One entry from one item of a batch; ValueError names what is wrong with it."""
    if isinstance(item, str):
        if not item.strip():
            raise ValueError("empty line")
        if len(item) > MAX_MESSAGE_CHARS:
            raise ValueError(f"longer than {MAX_MESSAGE_CHARS} characters")
        return parse_line(item, service=service)
    if not isinstance(item, dict):
        raise ValueError("an entry is a JSON object or a string")
    message = item.get("message", item.get("msg"))
    if not isinstance(message, str) or not message.strip():
        raise ValueError("message is required: a non-empty string")
    if len(message) > MAX_MESSAGE_CHARS:
        raise ValueError(f"message is longer than {MAX_MESSAGE_CHARS} characters")
    level = item.get("level", item.get("severity", ""))
    if not isinstance(level, str) or (level and not normalise_level(level)):
        raise ValueError(f"level {str(level)[:20]!r} is not a log level")
    entry_service = item.get("service", service) or service
    if not isinstance(entry_service, str) or len(entry_service) > MAX_SERVICE_CHARS:
        raise ValueError(f"service must be a string of at most {MAX_SERVICE_CHARS} characters")
    if problem := control_characters_problem("service", entry_service):
        raise ValueError(problem)
    attributes = item.get("attributes", {})
    if not isinstance(attributes, dict):
        raise ValueError("attributes must be an object")
    timestamp = item.get("timestamp", item.get("time", item.get("ts")))
    return make_entry(
        message=message,
        timestamp=_timestamp(timestamp) if timestamp is not None else None,
        level=level,
        service=entry_service,
        attributes=attributes,
    )


def _json_items(text: str) -> list[Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise PayloadError("the body is not valid JSON") from None
    if isinstance(data, dict) and "entries" in data:
        data = data["entries"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise PayloadError('the body is a JSON array of entries, or {"entries": [...]}')
    return data


def _ndjson_items(text: str) -> Iterator[tuple[int, Any, str]]:
    for index, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            yield index, json.loads(line), ""
        except (ValueError, RecursionError):
            yield index, None, "not valid JSON"


def _non_blank_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def parse_body(
    body: bytes, *, content_type: str, service: str, max_entries: int | None = None
) -> ParsedBody:
    """The entries in an ingest body, and the ones refused with their index and reason.

    More than ``max_entries`` items (text: entries, a traceback being one) is `TooManyEntries`,
    raised before the items are parsed.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8") from None
    parsed = ParsedBody()
    if media in TEXT_TYPES:
        lines = text.splitlines()
        spans = list(join_lines(lines))
        if max_entries is not None and len(spans) > max_entries:
            raise TooManyEntries(max_entries)
        for start, end in spans:
            parsed.received += 1
            joined = "\n".join(lines[start:end]).rstrip()
            try:
                parsed.entries.append(entry_from_item(joined, service=service))
            except ValueError as exc:
                parsed.rejected.append(Rejected(start, str(exc)))
        return parsed
    if media in JSON_TYPES:
        array = _json_items(text)
        if max_entries is not None and len(array) > max_entries:
            raise TooManyEntries(max_entries)
        items: Iterator[tuple[int, Any, str]] = (
            (index, item, "") for index, item in enumerate(array)
        )
    elif media in NDJSON_TYPES:
        if max_entries is not None and _non_blank_lines(text) > max_entries:
            raise TooManyEntries(max_entries)
        items = _ndjson_items(text)
    else:
        raise UnsupportedMediaType(
            f"Content-Type {media or 'none'} is not accepted; send application/json, "
            "application/x-ndjson or text/plain"
        )
    good: list[ParsedEntry] = []
    for index, item, problem in items:
        parsed.received += 1
        if problem:
            parsed.rejected.append(Rejected(index, problem))
            continue
        try:
            good.append(entry_from_item(item, service=service))
        except ValueError as exc:
            parsed.rejected.append(Rejected(index, str(exc)))
    parsed.entries = join_entries(good)
    return parsed


@register_source_kind
class HttpIngestSource(SourceAdapter):
    kind = "http"
    label = "HTTP ingest"
    pulled = False
