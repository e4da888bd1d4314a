"""The ingest pipeline: parse -> fingerprint -> store entries -> fingerprints and counts.

One transaction per batch: the entries (COPY on PostgreSQL, a bulk insert elsewhere), an
upsert per touched fingerprint (counts added in SQL, so concurrent batches cannot lose an
increment), an upsert per fingerprint and minute, the changed groups, and the source's
cursor, all commit together or not at all. New and regressed fingerprints then go to the
alert rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from logcrawler.fingerprint import KIND_HTTP, ParsedEntry, TemplateGroup
from logcrawler.fingerprint.stacktrace import TRACEBACK_HEADER
from logcrawler.levels import LEVEL_NUMBERS, Level, level_for_status_class, worse_level
from logcrawler.models import (
    ErrorFingerprint,
    FingerprinterState,
    FingerprintState,
    LogEntry,
    LogSource,
)
from logcrawler.services.alerts import EvaluationReport, alert_on_fingerprints
from logcrawler.services.sql import upsert_fingerprints, upsert_occurrences
from logcrawler.services.store import cache

MAX_MESSAGE_CHARS = 65_536
MAX_SERVICE_CHARS = 100


@dataclass
class GroupTally:
    """What one batch adds to one fingerprint."""

    group: TemplateGroup
    service: str
    count: int
    first_seen: datetime
    last_seen: datetime
    level: str
    sample: str


@dataclass
class IngestResult:
    stored: int = 0
    fingerprints: int = 0
    fingerprint_ids: list[str] = field(default_factory=list)
    new_fingerprints: list[str] = field(default_factory=list)
    regressed_fingerprints: list[str] = field(default_factory=list)
    alerts: EvaluationReport = field(default_factory=EvaluationReport)


@dataclass
class _Prepared:
    rows: int
    tallies: dict[str, GroupTally]
    minutes: dict[tuple[str, datetime], int]
    created: list[TemplateGroup]


def _clean(text: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL.
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[:limit]


def _without_nul(entry: ParsedEntry) -> ParsedEntry:
    """PostgreSQL text and jsonb cannot hold NUL; it becomes U+FFFD before anything sees it."""
    return replace(
        entry,
        message=_clean(entry.message, MAX_MESSAGE_CHARS),
        service=_clean(entry.service, MAX_SERVICE_CHARS),
        attributes={
            _clean(k, 200): _clean(v, MAX_MESSAGE_CHARS) for k, v in entry.attributes.items()
        },
    )


Row = tuple[Any, ...]


def _prepare(
    entries: Sequence[ParsedEntry],
    source_id: int | None,
    now: datetime,
    write: Callable[[Row], object],
    *,
    json_attributes: bool,
) -> _Prepared:
    """Fingerprint every entry, hand each entry's row to ``write`` as soon as it is made (on
    PostgreSQL, into a running COPY, so the server stores rows while this loop fingerprints
    the next ones), and gather the per-fingerprint tallies and per-minute counts."""
    fingerprint = cache.fingerprinter.fingerprint  # type: ignore[union-attr]
    tallies: dict[str, GroupTally] = {}
    minutes: dict[tuple[str, datetime], int] = {}
    created: list[TemplateGroup] = []
    last_ts: datetime | None = None
    minute = now
    for entry in entries:
        if (
            "\x00" in entry.message
            or "\x00" in entry.service
            or (entry.attributes and any("\x00" in v for v in entry.attributes.values()))
        ):
            entry = _without_nul(entry)
        group, is_new, _ = fingerprint(entry)
        if is_new:
            created.append(group)
        ts = entry.timestamp or now
        level = entry.level
        message = entry.message
        if group.kind == KIND_HTTP:
            # Access lines are logged at INFO whatever their status; a 5xx is an error.
            level = worse_level(level, level_for_status_class(group.tokens[-1]))
        elif not level and TRACEBACK_HEADER in message:
            level = Level.ERROR
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS]
        service = entry.service
        if len(service) > MAX_SERVICE_CHARS:
            service = service[:MAX_SERVICE_CHARS]
        attributes: Any = entry.attributes
        if json_attributes:
            attributes = _attributes_json(attributes)
        gid = group.id
        write((source_id, ts, level, service, message, attributes, gid))
        if ts is not last_ts:
            last_ts = ts
            minute = ts.replace(second=0, microsecond=0)
        key = (gid, minute)
        minutes[key] = minutes.get(key, 0) + 1
        tally = tallies.get(gid)
        if tally is None:
            tallies[gid] = GroupTally(group, service, 1, ts, ts, level, message)
            continue
        tally.count += 1
        if ts < tally.first_seen:
            tally.first_seen = ts
        elif ts > tally.last_seen:
            tally.last_seen = ts
        if level != tally.level and LEVEL_NUMBERS.get(level, 0) > LEVEL_NUMBERS.get(tally.level, 0):
            tally.level = level
    return _Prepared(len(entries), tallies, minutes, created)


def _attributes_json(attributes: dict[str, str]) -> str:
    if not attributes:
        return "{}"
    text = json.dumps(attributes)
    # jsonb refuses the escaped NUL as well as the raw one.
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def _prepare_and_insert(
    entries: Sequence[ParsedEntry], source_id: int | None, now: datetime
) -> _Prepared:
    """The batch's entry rows stored, and what the upserts need."""
    if connection.vendor == "postgresql":
        columns = "source_id, ts, level, service, message, attributes, fingerprint_id"
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY logcrawler_logentry ({columns}) FROM STDIN") as copy,
        ):
            return _prepare(entries, source_id, now, copy.write_row, json_attributes=True)
    rows: list[Row] = []
    prepared = _prepare(entries, source_id, now, rows.append, json_attributes=False)
    LogEntry.objects.bulk_create(
        [
            LogEntry(
                source_id=source_id,
                ts=ts,
                level=level,
                service=service,
                message=message,
                attributes=attributes,
                fingerprint_id=fingerprint,
            )
            for source_id, ts, level, service, message, attributes, fingerprint in rows
        ],
        batch_size=1000,
    )
    return prepared


def _relax_commit() -> None:
    """Do not wait for the WAL flush at commit, for batches that carry their source's cursor.

    A crash right after such a commit can lose the batch, but it loses the batch's cursor
    with it, so the next crawl reads the same lines again: nothing is lost or stored twice.
    Pushed batches (HTTP ingest) have no cursor to re-read from and keep the full wait.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")


def _lock_state() -> FingerprinterState:
    state = FingerprinterState.objects.select_for_update().filter(pk=1).first()
    if state is None:
        FingerprinterState.objects.get_or_create(pk=1)
        state = FingerprinterState.objects.select_for_update().get(pk=1)
    return state


def _store(
    *,
    source: LogSource | None,
    entries: Sequence[ParsedEntry],
    cursor: dict[str, Any] | None,
    now: datetime,
) -> IngestResult:
    with transaction.atomic():
        if cursor is not None and connection.vendor == "postgresql":
            _relax_commit()
        state = _lock_state()
        cache.current(state)
        prepared = _prepare_and_insert(entries, source.pk if source else None, now)
        result = IngestResult(
            stored=prepared.rows,
            fingerprints=len(prepared.tallies),
            fingerprint_ids=list(prepared.tallies),
        )
        if prepared.rows:
            changed = [t.group for t in prepared.tallies.values() if cache.changed(t.group)]
            version = state.version + 1 if changed else state.version
            order = {group.id: state.groups + n for n, group in enumerate(prepared.created)}
            before = {
                fid: (was, resolved_at)
                for fid, was, resolved_at in ErrorFingerprint.objects.filter(
                    pk__in=list(prepared.tallies)
                ).values_list("id", "state", "resolved_at")
            }
            upsert_fingerprints(
                tallies=list(prepared.tallies.values()),
                changed={group.id for group in changed},
                version=version,
                order=order,
                now=now,
            )
            upsert_occurrences(prepared.minutes)
            result.new_fingerprints = [gid for gid in prepared.tallies if gid not in before]
            result.regressed_fingerprints = [
                gid
                for gid, (was, resolved_at) in before.items()
                if was == FingerprintState.RESOLVED
                and (resolved_at is None or prepared.tallies[gid].last_seen > resolved_at)
            ]
            if changed:
                FingerprinterState.objects.filter(pk=state.pk).update(
                    version=version, groups=state.groups + len(prepared.created), updated_at=now
                )
                cache.mark_persisted(changed, version=version)
        if source is not None:
            updates: dict[str, Any] = {"lines_read": F("lines_read") + result.stored}
            if cursor is not None:
                updates["cursor"] = cursor
            LogSource.objects.filter(pk=source.pk).update(**updates)
    return result


def ingest_entries(
    *,
    source: LogSource | None,
    entries: Sequence[ParsedEntry],
    cursor: dict[str, Any] | None = None,
    now: datetime | None = None,
    alert: bool = True,
) -> IngestResult:
    """Store a batch of entries with their fingerprints and counts, and the source's new
    cursor, in one transaction; then alert on new and regressed fingerprints."""
    now = now or timezone.now()
    with cache.lock:
        try:
            result = _store(source=source, entries=entries, cursor=cursor, now=now)
        except BaseException:
            # The rows rolled back but the groups in memory did not: rebuild next time.
            cache.invalidate()
            raise
    if alert and (result.new_fingerprints or result.regressed_fingerprints):
        result.alerts = alert_on_fingerprints(
            new=result.new_fingerprints, regressed=result.regressed_fingerprints, now=now
        )
    return result
