"""Retention: entries, occurrence counts and idempotency keys older than the retention go.

Fingerprints stay (they are the memory of what has been seen, so an old error coming back
is recognised), and so do alerts (the audit trail).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from logcrawler.models import ErrorOccurrence, IngestBatch, LogEntry

DELETE_CHUNK = 10_000
IDEMPOTENCY_DAYS = 1


@dataclass(frozen=True)
class PruneReport:
    entries: int
    occurrences: int
    batches: int

    def as_dict(self) -> dict[str, int]:
        return {"entries": self.entries, "occurrences": self.occurrences, "batches": self.batches}


def _delete_entries_before(cutoff: datetime) -> int:
    """In chunks by id, so a big backlog never holds one long lock on the table."""
    deleted = 0
    while True:
        ids = list(
            LogEntry.objects.filter(ts__lt=cutoff)
            .order_by()
            .values_list("id", flat=True)[:DELETE_CHUNK]
        )
        if not ids:
            return deleted
        deleted += LogEntry.objects.filter(id__in=ids).delete()[0]


def prune_logs(*, now: datetime | None = None, retention_days: int | None = None) -> PruneReport:
    now = now or timezone.now()
    days = settings.LOGCRAWLER_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = now - timedelta(days=days)
    entries = _delete_entries_before(cutoff)
    occurrences, _ = ErrorOccurrence.objects.filter(minute__lt=cutoff).delete()
    batches, _ = IngestBatch.objects.filter(
        created_at__lt=now - timedelta(days=max(IDEMPOTENCY_DAYS, 0))
    ).delete()
    return PruneReport(entries=entries, occurrences=occurrences, batches=batches)
