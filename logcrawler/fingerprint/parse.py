"""Log lines into entries: timestamp, level, service, message and attributes.

Understands JSON lines, logfmt, and the common text shapes (ISO or syslog timestamp, a level
word, a bracketed or dotted logger name). Whatever it does not recognise stays in the
message, untouched: parsing never drops text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from logcrawler.fingerprint.stacktrace import TRACEBACK_HEADER

_LEVELS = {
    "trace": "DEBUG",
    "debug": "DEBUG",
    "info": "INFO",
    "information": "INFO",
    "notice": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "err": "ERROR",
    "error": "ERROR",
    "severe": "ERROR",
    "crit": "CRITICAL",
    "critical": "CRITICAL",
    "alert": "CRITICAL",
    "emerg": "CRITICAL",
    "fatal": "CRITICAL",
    "panic": "CRITICAL",
}
_LEVEL_WORDS = "|".join(sorted(_LEVELS, key=len, reverse=True))
# A level word counts when it is bracketed ("[warn]"), upper case ("ERROR") or followed by a
# colon ("info:"); a message that merely starts with "Information" or "error" keeps its word.
_LEVEL = (
    rf"(?:\[(?i:(?P<bracketed_level>{_LEVEL_WORDS}))\]:?"
    rf"|(?P<upper_level>{_LEVEL_WORDS.upper()})(?![\w-]):?"
    rf"|(?i:(?P<colon_level>{_LEVEL_WORDS})):)"
)
_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2}| [+-]\d{4})?"
_TEXT_LINE = re.compile(
    rf"^\[?(?P<timestamp>{_ISO})\]?\s+(?:\[\d+\]\s+)?"
    rf"(?:{_LEVEL}\s+)?"
    r"(?:\[(?P<bracketed>[\w.\-/]+)\]:?\s+|(?P<dotted>[A-Za-z_][\w\-]*(?:\.[\w\-]+)+):\s+)?"
    r"(?P<message>.*)$",
    re.DOTALL,
)
# Python's logging.basicConfig default: "ERROR:django.request:Internal Server Error: /x".
_PYTHON_DEFAULT = re.compile(
    rf"^(?P<upper_level>{_LEVEL_WORDS.upper()}):(?P<service>[\w.\-]+):(?P<message>.*)$",
    re.DOTALL,
)
# "INFO:     127.0.0.1:5000 - ..." (uvicorn), "ERROR Something failed", "[warn] ..."
_LEVEL_FIRST = re.compile(rf"^{_LEVEL}\s+(?P<message>.*)$", re.DOTALL)
_LOGFMT_PAIR = re.compile(r'(?P<key>[\w.\-]+)=(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>\S*))')
_TIMESTAMP_KEYS = ("timestamp", "time", "ts", "@timestamp", "datetime", "date")
_LEVEL_KEYS = ("level", "severity", "levelname", "lvl", "loglevel", "log.level")
_SERVICE_KEYS = ("service", "service_name", "app", "logger", "name", "component")
_MESSAGE_KEYS = ("message", "msg", "event", "text", "log")


@dataclass(slots=True)
class ParsedEntry:
    """One log entry. ``level`` is DEBUG, INFO, WARNING, ERROR, CRITICAL or empty.

    Treated as immutable (``dataclasses.replace`` makes a changed copy), but not frozen: a
    frozen dataclass sets each field through ``object.__setattr__``, which made building an
    entry a fifth of parsing a line.
    """

    message: str
    timestamp: datetime | None = None
    level: str = ""
    service: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


def normalise_level(value: str) -> str:
    """A level name in one spelling ("warn", "Warning", "WARNING" -> "WARNING")."""
    return _LEVELS.get(value.strip().lower(), "")


def parse_timestamp(value: str) -> datetime | None:
    """A timezone-aware UTC datetime from ISO 8601 / RFC 3339 text or epoch seconds."""
    text = value.strip()
    if not text:
        return None
    try:
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
            # Epoch values in milliseconds or nanoseconds are common in JSON logs.
            while seconds > 1e11:
                seconds /= 1000
            return datetime.fromtimestamp(seconds, tz=UTC)
        parsed = datetime.fromisoformat(text.replace(",", ".", 1))
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def make_entry(
    *,
    message: str,
    timestamp: datetime | str | None = None,
    level: str = "",
    service: str = "",
    attributes: Mapping[str, object] | None = None,
) -> ParsedEntry:
    """An entry from structured fields (Railway's log records, the ingest endpoint)."""
    if isinstance(timestamp, str):
        timestamp = parse_timestamp(timestamp)
    elif timestamp is not None and timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return ParsedEntry(
        message=clean_text(message),
        timestamp=timestamp,
        level=normalise_level(level),
        service=clean_text(service),
        attributes={
            clean_text(str(key)): clean_text(_text(value))
            for key, value in (attributes or {}).items()
        },
    )


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text that UTF-8 and PostgreSQL can hold: a lone surrogate (JSON lets a client send
    "\\ud800") becomes U+FFFD instead of failing the batch or every later read of it."""
    if text.isascii():
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _pick(fields: dict[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        if name in fields:
            return fields.pop(name)
    return ""


def _from_fields(fields: dict[str, str], service: str) -> ParsedEntry:
    timestamp = parse_timestamp(_pick(fields, _TIMESTAMP_KEYS))
    level = normalise_level(_pick(fields, _LEVEL_KEYS))
    found_service = _pick(fields, _SERVICE_KEYS)
    message = _pick(fields, _MESSAGE_KEYS)
    return ParsedEntry(
        message=message,
        timestamp=timestamp,
        level=level,
        service=service or found_service,
        attributes=fields,
    )


def _parse_json(line: str, service: str) -> ParsedEntry | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return _from_fields({str(key): _text(value) for key, value in data.items()}, service)


def _parse_logfmt(line: str, service: str) -> ParsedEntry | None:
    fields = {
        match.group("key"): match.group("quoted")
        if match.group("quoted") is not None
        else match.group("bare")
        for match in _LOGFMT_PAIR.finditer(line)
    }
    if not any(key in fields for key in _MESSAGE_KEYS[:2]):
        return None
    return _from_fields(fields, service)


def _level(match: re.Match[str]) -> str:
    word = match.group("bracketed_level") or match.group("upper_level")
    word = word or match.group("colon_level")
    return _LEVELS.get(word.lower(), "") if word else ""


def _parse_text(line: str, service: str) -> ParsedEntry:
    match = _TEXT_LINE.match(line)
    if match is not None:
        return ParsedEntry(
            message=match.group("message"),
            timestamp=parse_timestamp(match.group("timestamp")),
            level=_level(match),
            service=service or match.group("bracketed") or match.group("dotted") or "",
        )
    match = _PYTHON_DEFAULT.match(line)
    if match is not None:
        return ParsedEntry(
            message=match.group("message"),
            level=normalise_level(match.group("upper_level")),
            service=service or match.group("service"),
        )
    match = _LEVEL_FIRST.match(line)
    if match is not None:
        return ParsedEntry(
            message=match.group("message"),
            level=_level(match),
            service=service,
        )
    return ParsedEntry(message=line, service=service)


def parse_line(line: str, *, service: str = "") -> ParsedEntry:
    """One raw line (or a joined multi-line entry) into an entry.

    ``service`` is the source's service name; when given it wins over a name in the line.
    """
    text = clean_text(line.rstrip("\r\n"))
    stripped = text.lstrip()
    entry: ParsedEntry | None = None
    if stripped.startswith("{"):
        entry = _parse_json(stripped, service)
    if entry is None and "=" in text and ("msg=" in text or "message=" in text):
        entry = _parse_logfmt(text, service)
    if entry is None:
        entry = _parse_text(text, service)
    if not entry.level and TRACEBACK_HEADER in entry.message:
        # A traceback printed without a level (stderr of a crashed process) is an error.
        return replace(entry, level="ERROR")
    return entry
