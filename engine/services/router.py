"""`TaskRouter`: hands a worker the most urgent pending task it can run, under a lease."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from engine.models import Task, TaskState, Worker, WorkerState
from engine.services.errors import WorkerUnavailable
from engine.services.history import record_transition, worker_actor


class TaskRouter:
    """Claims are safe under concurrency on both databases.

    On PostgreSQL the candidate row is taken with ``FOR UPDATE SKIP LOCKED``, so concurrent
    claimers pass over each other's rows instead of queueing. On SQLite transactions begin
    IMMEDIATE (see settings), which serialises claimers. On both, the conditional UPDATE's
    row count is checked, so a claim that lost a race (or met a cancel) simply tries the next
    candidate.
    """

    max_candidates = 5

    def __init__(self, *, lease_seconds: int | None = None) -> None:
        self.lease = timedelta(seconds=lease_seconds or settings.ENGINE_LEASE_SECONDS)

    def claim(self, worker: Worker, *, now: datetime | None = None) -> Task | None:
        if worker.state != WorkerState.ONLINE:
            raise WorkerUnavailable(f"worker {worker.name} is {worker.state}; it claims nothing")
        kinds = list(worker.capabilities or [])
        if not kinds:
            return None
        for _ in range(self.max_candidates):
            with transaction.atomic():
                now = now or timezone.now()
                held = Task.objects.filter(state=TaskState.RUNNING, lease_worker=worker).count()
                if held >= worker.max_concurrency:
                    return None
                candidate = self._candidate(kinds, now)
                if candidate is None:
                    return None
                expires = now + self.lease
                won = Task.objects.filter(pk=candidate.pk, state=TaskState.PENDING).update(
                    state=TaskState.RUNNING,
                    lease_worker=worker,
                    lease_expires_at=expires,
                    started_at=now,
                    attempts=F("attempts") + 1,
                    updated_at=now,
                )
                if not won:
                    continue
                record_transition(
                    task_id=candidate.pk,
                    from_state=TaskState.PENDING,
                    to_state=TaskState.RUNNING,
                    actor=worker_actor(worker),
                    note=f"claimed, attempt {candidate.attempts + 1}",
                )
                candidate.state = TaskState.RUNNING
                candidate.lease_worker = worker
                candidate.lease_expires_at = expires
                candidate.started_at = now
                candidate.attempts += 1
                candidate.updated_at = now
                return candidate
        return None

    def _candidate(self, kinds: list[str], now: datetime) -> Task | None:
        queryset = Task.objects.claimable(kinds, now)
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        return queryset.first()
