"""`TaskRouter`: hands a worker the most urgent pending task it can run, under a lease."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from engine.models import Task, TaskState, Worker, WorkerState
from engine.services.errors import WorkerUnavailable
from engine.services.history import record_transition, worker_actor
from engine.services.postgres import fetch_task, task_columns

# PostgreSQL: the whole claim in one statement, one round trip. The candidate is locked
# with SKIP LOCKED (a row another claimer holds is passed over, a row that stopped being
# pending is re-checked and skipped), updated, and its history row written, atomically.
# Same rows and history as the portable path below; measured in bench/engine_claim.py.
# The states are literals, not parameters, so that a prepared plan can use the partial
# indexes (WHERE state = 'pending').
CLAIM_SQL = """
WITH candidate AS (
    SELECT id FROM engine_task
     WHERE state = 'pending' AND kind IN ({kinds}) AND run_after <= %(now)s{owner}
       AND (SELECT count(*) FROM engine_task
             WHERE state = 'running' AND lease_worker_id = %(worker)s) < %(capacity)s
     ORDER BY priority DESC, created_at, id
     LIMIT 1
       FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE engine_task AS task
       SET state = 'running', lease_worker_id = %(worker)s, lease_expires_at = %(expires)s,
           started_at = %(now)s, attempts = task.attempts + 1, updated_at = %(now)s
      FROM candidate
     WHERE task.id = candidate.id
    RETURNING {columns}
), history AS (
    INSERT INTO engine_taskevent (task_id, from_state, to_state, actor, note, data, created_at)
    SELECT id, 'pending', 'running', %(actor)s, 'claimed, attempt ' || attempts,
           '{{}}'::jsonb, %(event_at)s
      FROM claimed
)
SELECT * FROM claimed
"""


# A worker that is neither built-in nor shared claims only its owner's tasks.
OWNER_ONLY = "\n       AND created_by_id = %(owner)s"


@cache
def claim_sql(kind_count: int, *, owner_only: bool = False) -> str:
    # IN with one placeholder per kind, not = ANY(array): PostgreSQL 15 walks the claim
    # index for IN but sorts every pending row for ANY.
    placeholders = ", ".join(f"%(kind{n})s" for n in range(kind_count))
    return CLAIM_SQL.format(
        kinds=placeholders, owner=OWNER_ONLY if owner_only else "", columns=task_columns("task")
    )


class TaskRouter:
    """Claims are safe under concurrency on both databases, and a worker claims only what it
    may run: a built-in or shared worker any task, any other worker only the tasks of the
    user who registered it (docs/security.md, "Who may claim what"). The rule is a condition
    of the one claim statement, not a second query.

    On PostgreSQL the candidate row is taken with ``FOR UPDATE SKIP LOCKED``, so concurrent
    claimers pass over each other's rows instead of queueing, in a single statement. On
    SQLite transactions begin IMMEDIATE (see settings), which serialises claimers, and the
    conditional UPDATE's row count is checked, so a claim that lost a race (or met a cancel)
    simply tries the next candidate.
    """

    max_candidates = 5

    def __init__(self, *, lease_seconds: int | None = None) -> None:
        self.lease = timedelta(seconds=lease_seconds or settings.ENGINE_LEASE_SECONDS)

    def claim(
        self,
        worker: Worker,
        *,
        now: datetime | None = None,
        only: Collection[str] | None = None,
    ) -> Task | None:
        """The most urgent pending task of a kind the worker can run (of those in `only`,
        when given: one of a worker's threads kept for short work passes over agent runs)."""
        if worker.state != WorkerState.ONLINE:
            raise WorkerUnavailable(f"worker {worker.name} is {worker.state}; it claims nothing")
        kinds = [k for k in worker.capabilities or [] if only is None or k in only]
        owner = None if worker.claims_for_everyone else worker.registered_by_id
        if not kinds or (owner is None and not worker.claims_for_everyone):
            return None  # an ownerless worker that is not trusted with everyone's claims none
        if connection.vendor == "postgresql":
            return self._claim_in_one_statement(worker, kinds, owner, now or timezone.now())
        for _ in range(self.max_candidates):
            with transaction.atomic():
                now = now or timezone.now()
                held = Task.objects.filter(state=TaskState.RUNNING, lease_worker=worker).count()
                if held >= worker.max_concurrency:
                    return None
                candidate = self._candidate(kinds, owner, now)
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

    def _claim_in_one_statement(
        self, worker: Worker, kinds: list[str], owner: int | None, now: datetime
    ) -> Task | None:
        params = {
            "owner": owner,
            "now": now,
            "expires": now + self.lease,
            "worker": worker.pk,
            "capacity": worker.max_concurrency,
            "actor": worker_actor(worker),
            "event_at": timezone.now(),
            **{f"kind{n}": kind for n, kind in enumerate(kinds)},
        }
        return fetch_task(claim_sql(len(kinds), owner_only=owner is not None), params)

    def _candidate(self, kinds: list[str], owner: int | None, now: datetime) -> Task | None:
        queryset = Task.objects.claimable(kinds, now, created_by_id=owner)
        if connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        return queryset.first()
