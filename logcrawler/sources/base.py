"""The shape every source kind shares: a base class, a registry, batches with cursors.

A source kind subclasses `SourceAdapter`, sets ``kind``, validates its settings and yields
`Batch`es: entries plus the cursor that stands after them. The crawl service stores each
batch's entries and its cursor in one transaction, so a crash between batches loses
nothing and repeats nothing. Adding a kind: docs/logcrawler.md, "Adding a source kind".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from logcrawler.fingerprint import ParsedEntry
from logcrawler.models import LogSource


class SourceError(Exception):
    """The source could not be read; the message is shown as the source's last error."""


class RateLimited(SourceError):
    """The provider asked us to come back later; no crawl of this source before then."""

    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


@dataclass
class Batch:
    entries: list[ParsedEntry]
    cursor: dict[str, Any]


@dataclass
class CrawlNotes:
    """What the adapter wants the source's status to say besides the line count, and the
    parts of the source it could not read this time (each with its reason): a crawl with
    failures ends in error, with what it could read stored."""

    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def fail(self, where: str, reason: str) -> None:
        failure = f"{where}: {reason}"
        if failure not in self.failures:
            self.failures.append(failure)


class SourceAdapter:
    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    pulled: ClassVar[bool] = True  # False: entries are pushed to us (HTTP ingest)

    def __init__(self, source: LogSource, *, now: datetime | None = None) -> None:
        self.source = source
        self.now = now
        self.notes = CrawlNotes()

    @classmethod
    def settings_errors(cls, settings: dict[str, Any]) -> dict[str, str]:
        """Problems with a source's settings, by key; empty when they are fine."""
        return {}

    def batches(self) -> Iterator[Batch]:
        """The entries that arrived since the cursor, in batches, each with its cursor."""
        return iter(())


_registry: dict[str, type[SourceAdapter]] = {}


def register_source_kind(adapter: type[SourceAdapter]) -> type[SourceAdapter]:
    existing = _registry.get(adapter.kind)
    if existing is not None and existing is not adapter:
        raise ValueError(f"a source kind {adapter.kind!r} is already registered")
    _registry[adapter.kind] = adapter
    return adapter


def adapter_class(kind: str) -> type[SourceAdapter]:
    try:
        return _registry[kind]
    except KeyError:
        raise SourceError(f"no source kind {kind!r} is registered") from None


def adapter_for(source: LogSource, *, now: datetime | None = None) -> SourceAdapter:
    return adapter_class(source.kind)(source, now=now)


def registered_kinds() -> list[str]:
    return sorted(_registry)
