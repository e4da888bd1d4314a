"""Recurring errors, grouped into patterns, from every source registered here.

Self-heal's own source is the engine's failed tasks: their ``last_error`` with the varying
parts (numbers, ids, addresses, quoted values) replaced, so that "timeout after 5s to
10.0.0.7" and "timeout after 30s to 10.0.3.1" count as one.

The seam: the log crawler registers its error fingerprints as a second source with
`register_error_pattern_source` from its ``AppConfig.ready()``; the diagnosis and the repair
see both, each pattern named by its source.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db.models import Count, Max

from engine.models import Task, TaskState

MAX_TEXT = 300
EXAMPLES_KEPT = 5

_SUBSTITUTIONS = [
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}(:?\d{2})?|Z)?"),
        "<time>",
    ),
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b"), "<ip>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<hex>"),
    (re.compile(r"'[^']*'"), "'<str>'"),
    (re.compile(r'(?<!File )"[^"]*"'), '"<str>"'),
    # Status codes and errno values tell errors apart; other numbers are noise.
    (re.compile(r"(?<![A-Za-z0-9.])(?<!HTTP )(?<!status )(?<!Errno )\d+(\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def normalize_error(text: str) -> str:
    """The stable part of an error message: its pattern."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    # A Python traceback says what went wrong on its last line.
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    for pattern, replacement in _SUBSTITUTIONS:
        line = pattern.sub(replacement, line)
    return line.strip()[:MAX_TEXT]


def pattern_key(source: str, text: str) -> str:
    digest = hashlib.sha256(f"{source}\x00{text}".encode()).hexdigest()[:16]
    return f"{source}:{digest}"


@dataclass
class ErrorPattern:
    key: str
    source: str
    text: str
    count: int
    last_seen: datetime | None = None
    examples: list[str] = field(default_factory=list)
    # The dedupe key under which the source itself opens work for this pattern (the log
    # crawler's alerts do), so a repair's fix task and the source's task are one task.
    task_key: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "text": self.text,
            "count": self.count,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "examples": self.examples,
        }


class ErrorPatternSource(Protocol):
    name: str

    def top_patterns(self, *, since: datetime, limit: int) -> list[ErrorPattern]: ...


class TaskErrorSource:
    """Failed tasks since a moment, grouped by the pattern of their last error."""

    name = "tasks"
    # The database groups identical texts first; Python then merges texts of one pattern.
    MAX_DISTINCT_TEXTS = 50_000

    def top_patterns(self, *, since: datetime, limit: int) -> list[ErrorPattern]:
        rows = (
            Task.objects.filter(state=TaskState.FAILED, finished_at__gte=since)
            .exclude(last_error="")
            .order_by()
            .values_list("last_error")
            .annotate(n=Count("id"), last=Max("finished_at"), example=Max("id"))
        )[: self.MAX_DISTINCT_TEXTS]
        patterns: dict[str, ErrorPattern] = {}
        for text, n, last, example in rows:
            normal = normalize_error(text)
            pattern = patterns.get(normal)
            if pattern is None:
                pattern = patterns[normal] = ErrorPattern(
                    pattern_key(self.name, normal), self.name, normal, 0
                )
            pattern.count += n
            if pattern.last_seen is None or (last and last > pattern.last_seen):
                pattern.last_seen = last
            if len(pattern.examples) < EXAMPLES_KEPT:
                pattern.examples.append(f"engine.task#{example}")
        ranked = sorted(patterns.values(), key=lambda p: (-p.count, p.text))
        return ranked[:limit]


TASK_ERRORS = TaskErrorSource()

_sources: dict[str, ErrorPatternSource] = {}


def register_error_pattern_source(source: ErrorPatternSource, *, replace: bool = False) -> None:
    existing = _sources.get(source.name)
    if existing is not None and existing is not source and not replace:
        raise ValueError(f"an error pattern source named {source.name!r} is already registered")
    _sources[source.name] = source


def unregister_error_pattern_source(name: str) -> None:
    _sources.pop(name, None)


def error_pattern_sources() -> list[ErrorPatternSource]:
    return list(_sources.values())


def top_error_patterns(*, since: datetime, limit: int) -> list[ErrorPattern]:
    """The most frequent patterns across every source, most frequent first."""
    merged: list[ErrorPattern] = []
    for source in error_pattern_sources():
        merged.extend(source.top_patterns(since=since, limit=limit))
    return sorted(merged, key=lambda p: (-p.count, p.key))[:limit]


@dataclass(frozen=True)
class Recurrence:
    """What makes an error pattern *recurring*: one definition, which the diagnosis judges
    by and the repair opens fix tasks by.

    A pattern recurs when it was seen at least `min_count` times in the last `window` and
    is still being seen: its last occurrence is less than `quiet_after` old. A burst that
    stopped (a repair once opened a fix task for a pattern quiet for a quarter of an hour,
    because it counted a day) has gone quiet: the diagnosis still lists it, as information.
    `quiet_after` is three crawls of the log crawler (every 5 minutes) and three auto-heal
    passes: a pattern still firing is seen by each, one that is quiet for that long has
    most likely stopped.
    """

    window: timedelta = timedelta(hours=24)
    min_count: int = 10
    quiet_after: timedelta = timedelta(minutes=15)

    def since(self, now: datetime) -> datetime:
        return now - self.window

    def frequent(self, pattern: ErrorPattern) -> bool:
        return pattern.count >= self.min_count

    def recent(self, pattern: ErrorPattern, *, now: datetime) -> bool:
        return pattern.last_seen is not None and now - pattern.last_seen < self.quiet_after

    def recurring(self, pattern: ErrorPattern, *, now: datetime) -> bool:
        return self.frequent(pattern) and self.recent(pattern, now=now)

    def quiet(self, pattern: ErrorPattern, *, now: datetime) -> bool:
        """Frequent in the window, but no longer seen: it has stopped, for now."""
        return self.frequent(pattern) and not self.recent(pattern, now=now)

    def describe(self) -> str:
        hours = self.window.total_seconds() / 3600
        minutes = self.quiet_after.total_seconds() / 60
        return (
            f"seen at least {self.min_count} times in {hours:g} h and within the last "
            f"{minutes:g} min"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_hours": self.window.total_seconds() / 3600,
            "min_count": self.min_count,
            "quiet_after_minutes": self.quiet_after.total_seconds() / 60,
        }


RECURRENCE = Recurrence()


def recurring_patterns(
    *, now: datetime, limit: int, rule: Recurrence = RECURRENCE
) -> list[ErrorPattern]:
    """The patterns that recur now (by `rule`), most frequent first. More are read than
    asked for, so that frequent patterns gone quiet do not crowd out recurring ones."""
    patterns = top_error_patterns(since=rule.since(now), limit=limit * 5)
    return [pattern for pattern in patterns if rule.recurring(pattern, now=now)][:limit]
