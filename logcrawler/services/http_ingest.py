"""A batch pushed to the ingest endpoint: parse, validate per entry, store once per key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from logcrawler.errors import SourceNotFound
from logcrawler.models import IngestBatch, LogSource, SourceKind
from logcrawler.services.ingest import ingest_entries
from logcrawler.sources.http import parse_body

DEFAULT_INGEST_SOURCE = "http"
MAX_KEY_CHARS = 200


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


def _replay(source: LogSource, key: str) -> IngestReply | None:
    batch = IngestBatch.objects.filter(source=source, key=key).first()
    if batch is None:
        return None
    return IngestReply(status=200, body={**batch.response, "replayed": True}, replayed=True)


def ingest_batch(
    *, source: LogSource, body: bytes, content_type: str, service: str, idempotency_key: str
) -> IngestReply:
    """Store the batch's good entries and report the bad ones. With an idempotency key, a
    batch already stored under that key is answered as it was, and stores nothing."""
    key = idempotency_key.strip()[:MAX_KEY_CHARS]
    if key:
        replay = _replay(source, key)
        if replay is not None:
            return replay
    parsed = parse_body(body, content_type=content_type, service=service or source.service_name())
    rejected = [item.as_dict() for item in parsed.rejected]
    if not parsed.entries:
        return IngestReply(
            status=400,
            body={"detail": "no valid entries", "accepted": 0, "rejected": rejected},
        )
    try:
        with transaction.atomic():
            batch = IngestBatch.objects.create(source=source, key=key) if key else None
            result = ingest_entries(source=source, entries=parsed.entries)
            response = {
                "accepted": result.stored,
                "received": parsed.received,
                "rejected": rejected,
                "fingerprints": result.fingerprints,
                "new_fingerprints": result.new_fingerprints,
                "replayed": False,
            }
            if batch is not None:
                batch.accepted = result.stored
                batch.rejected = len(rejected)
                batch.response = response
                batch.save(update_fields=["accepted", "rejected", "response"])
    except IntegrityError:
        # A concurrent request with the same key committed first.
        replay = _replay(source, key) if key else None
        if replay is None:
            raise
        return replay
    return IngestReply(status=201, body=response)
