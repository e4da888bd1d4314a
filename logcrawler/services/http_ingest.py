"""A batch pushed to the ingest endpoint: parse, validate per entry, store once per key.

A body may hold up to LOGCRAWLER_INGEST_MAX_ENTRIES entries; they are stored
LOGCRAWLER_BATCH_LINES at a time, one transaction each, so that a big push never holds the
database (SQLite's single writer above all) for long. With an idempotency key the batch's
row records how many entries are stored: a retry of a batch that failed part-way stores
only the rest, and a batch already complete is answered as the first time. A key reused for
a different batch is refused (422), never answered with the first batch's result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from logcrawler.errors import SourceNotFound
from logcrawler.fingerprint import ParsedEntry
from logcrawler.models import IngestBatch, LogSource, SourceKind
from logcrawler.services.ingest import IngestResult, ingest_entries
from logcrawler.sources.http import parse_body

DEFAULT_INGEST_SOURCE = "http"
MAX_KEY_CHARS = 200
# Kept on an unfinished batch's row between chunks, dropped from the final answer.
_SEEN = "fingerprint_ids"


@dataclass(frozen=True)
class IngestReply:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def ingest_source(name: str = "") -> LogSource:
    """The HTTP source to file a batch under: the named one, or the default (created once)."""
    if not name:
        source, _ = LogSource.objects.get_or_create(
            name=DEFAULT_INGEST_SOURCE, defaults={"kind": SourceKind.HTTP}
        )
        if source.kind != SourceKind.HTTP:
            raise SourceNotFound(f"source {source.name!r} is not an HTTP ingest source")
        return source
    named = LogSource.objects.filter(name=name, kind=SourceKind.HTTP).first()
    if named is None:
        raise SourceNotFound(f"no HTTP ingest source is named {name!r}")
    return named


def _request_hash(body: bytes, *, content_type: str, service: str) -> str:
    digest = hashlib.sha256()
    for part in (content_type.split(";", 1)[0].strip().lower(), service):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    digest.update(body)
    return digest.hexdigest()


def _reused(batch: IngestBatch, request_hash: str) -> IngestReply | None:
    """The refusal of a key already used for another batch (rows from before the hash was
    kept have none and are trusted)."""
    if not batch.body_hash or batch.body_hash == request_hash:
        return None
    return IngestReply(
        status=422,
        body={
            "detail": "This Idempotency-Key was already used for a different batch "
            "(body, Content-Type or service); use a new key for a new batch.",
            "code": "idempotency_key_reused",
        },
    )


def _replay(batch: IngestBatch) -> IngestReply:
    # Every stored batch was answered 201 the first time (a body with no good entry is a
    # 400 and stores no batch): the replay answers the same, marked as a replay.
    return IngestReply(status=201, body={**batch.response, "replayed": True}, replayed=True)


def _tally(progress: dict[str, Any], result: IngestResult) -> dict[str, Any]:
    """The running totals of a batch after one more chunk."""
    seen = list(progress.get(_SEEN, []))
    known = set(seen)
    seen += [fid for fid in result.fingerprint_ids if fid not in known]
    new = list(progress.get("new_fingerprints", []))
    new += [fid for fid in result.new_fingerprints if fid not in new]
    return {
        "accepted": int(progress.get("accepted", 0)) + result.stored,
        "new_fingerprints": new,
        _SEEN: seen,
    }


def _answer(
    progress: dict[str, Any], *, received: int, rejected: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "accepted": int(progress.get("accepted", 0)),
        "received": received,
        "rejected": rejected,
        "fingerprints": len(progress.get(_SEEN, [])),
        "new_fingerprints": list(progress.get("new_fingerprints", [])),
        "replayed": False,
    }


def _store_keyed(
    source: LogSource,
    key: str,
    entries: Sequence[ParsedEntry],
    *,
    request_hash: str,
    received: int,
    rejected: list[dict[str, Any]],
) -> IngestReply:
    batch, _ = IngestBatch.objects.get_or_create(
        source=source, key=key, defaults={"complete": False, "body_hash": request_hash}
    )
    refused = _reused(batch, request_hash)
    if refused is not None:
        return refused
    if batch.complete:
        return _replay(batch)
    size = max(int(settings.LOGCRAWLER_BATCH_LINES), 1)
    for start in range(0, len(entries), size):
        with transaction.atomic():
            # The row is the batch's lock: a concurrent retry with the same key waits here,
            # then sees the chunk done and skips it.
            locked = IngestBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.complete or locked.entries_done != start:
                continue
            result = ingest_entries(source=source, entries=entries[start : start + size])
            locked.response = _tally(locked.response, result)
            locked.entries_done = start + len(entries[start : start + size])
            locked.save(update_fields=["response", "entries_done"])
    with transaction.atomic():
        locked = IngestBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.complete:
            return _replay(locked)
        answer = _answer(locked.response, received=received, rejected=rejected)
        locked.response = answer
        locked.accepted = answer["accepted"]
        locked.rejected = len(rejected)
        locked.complete = True
        locked.save(update_fields=["response", "accepted", "rejected", "complete"])
    return IngestReply(status=201, body=answer)


def ingest_batch(
    *, source: LogSource, body: bytes, content_type: str, service: str, idempotency_key: str
) -> IngestReply:
    """Store the batch's good entries and report the bad ones. With an idempotency key, a
    batch already stored under that key is answered as it was, and stores nothing."""
    key = idempotency_key.strip()[:MAX_KEY_CHARS]
    request_hash = _request_hash(body, content_type=content_type, service=service)
    if key:
        done = IngestBatch.objects.filter(source=source, key=key, complete=True).first()
        if done is not None:
            return _reused(done, request_hash) or _replay(done)
    parsed = parse_body(
        body,
        content_type=content_type,
        service=service or source.service_name(),
        max_entries=int(settings.LOGCRAWLER_INGEST_MAX_ENTRIES),
    )
    rejected = [item.as_dict() for item in parsed.rejected]
    if not parsed.entries:
        return IngestReply(
            status=400,
            body={"detail": "no valid entries", "accepted": 0, "rejected": rejected},
        )
    if key:
        return _store_keyed(
            source,
            key,
            parsed.entries,
            request_hash=request_hash,
            received=parsed.received,
            rejected=rejected,
        )
    progress: dict[str, Any] = {}
    size = max(int(settings.LOGCRAWLER_BATCH_LINES), 1)
    for start in range(0, len(parsed.entries), size):
        result = ingest_entries(source=source, entries=parsed.entries[start : start + size])
        progress = _tally(progress, result)
    return IngestReply(
        status=201, body=_answer(progress, received=parsed.received, rejected=rejected)
    )
