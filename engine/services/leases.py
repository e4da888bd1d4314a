"""What a worker does with a task it holds: heartbeat, complete, fail, hand back.

A worker may only act on a task whose lease it holds; anything else is a `LeaseConflict`
(HTTP 409) and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone
from psycopg.types.json import Jsonb

from engine.models import Task, TaskState, Worker, WorkerState
from engine.services.errors import LeaseConflict, TaskNotFound
from engine.services.history import Actor, set_state, worker_actor
from engine.services.postgres import fetch_task, task_columns


@dataclass(frozen=True)
class Heartbeat:
    worker_state: str
    leases_extended: int
    lease_expires_at: datetime


def heartbeat(*, worker: Worker, now: datetime | None = None) -> Heartbeat:
    """Record that the worker is alive and extend the leases it holds.

    An offline worker that comes back is online again; the tasks it held before it was
    declared offline are no longer its.
    """
    now = now or timezone.now()
    expires = now + timedelta(seconds=settings.ENGINE_LEASE_SECONDS)
    with transaction.atomic():
        Worker.objects.filter(pk=worker.pk).update(
            last_heartbeat_at=now,
            state=Case(
                When(state=WorkerState.OFFLINE, then=Value(WorkerState.ONLINE)),
                default="state",
            ),
        )
        extended = Task.objects.filter(state=TaskState.RUNNING, lease_worker=worker).update(
            lease_expires_at=expires
        )
    worker.refresh_from_db(fields=["state", "last_heartbeat_at"])
    return Heartbeat(worker.state, extended, expires)


def holds_lease(*, worker: Worker, task_id: int, attempt: int, started_at: datetime | None) -> bool:
    """Whether `worker` still runs the attempt of the task it claimed at `started_at` as
    number `attempt`. A lease that ran out and was claimed again (by another worker, or by
    this one: another of its threads, or itself after it was declared offline) belongs to a
    later claim, with a later start, even where the number came back (a retry resets it)."""
    return Task.objects.filter(
        pk=task_id,
        state=TaskState.RUNNING,
        lease_worker=worker,
        attempts=attempt,
        started_at=started_at,
    ).exists()


def _held_task(
    worker: Worker, task_id: int, attempt: int | None, started_at: datetime | None
) -> Task:
    """The running task, locked, if `worker` holds it. Given the claim's attempt and start,
    only that claim holds it: not an earlier one of the same worker (another of its
    threads, or itself before it was declared offline) whose task was claimed again."""
    task = Task.objects.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise TaskNotFound(f"task {task_id} does not exist")
    if task.state != TaskState.RUNNING or task.lease_worker_id != worker.pk:
        raise LeaseConflict(f"worker {worker.name} does not hold the lease on task {task_id}")
    if (attempt is not None and task.attempts != attempt) or (
        started_at is not None and task.started_at != started_at
    ):
        raise LeaseConflict(
            f"task {task_id} was claimed again since attempt {attempt}; that attempt's "
            "outcome is not recorded"
        )
    return task


# PostgreSQL: completion in one statement, one round trip: the conditional UPDATE (only the
# lease holder's running task), its history row, and the dependents it unblocks with theirs,
# atomically. Same rows and history as the portable path below. States are literals so a
# prepared plan can use the partial indexes.
COMPLETE_SQL = """
WITH finished AS (
    UPDATE engine_task AS task
       SET state = 'done', result = %(result)s, lease_worker_id = NULL,
           lease_expires_at = NULL, updated_at = %(now)s, finished_at = %(now)s
     WHERE id = %(task)s AND state = 'running' AND lease_worker_id = %(worker)s
       AND (%(attempt)s::integer IS NULL OR attempts = %(attempt)s::integer)
       AND (%(started)s::timestamptz IS NULL OR started_at = %(started)s::timestamptz)
    RETURNING {columns}
), history AS (
    INSERT INTO engine_taskevent (task_id, from_state, to_state, actor, note, data, created_at)
    SELECT id, 'running', 'done', %(actor)s, 'completed', '{{}}'::jsonb, %(now)s
      FROM finished
), unblocked AS (
    UPDATE engine_task AS dependent
       SET state = 'pending', run_after = %(now)s, updated_at = %(now)s, finished_at = NULL
      FROM finished
     WHERE dependent.blocked_by_id = finished.id AND dependent.state = 'blocked'
    RETURNING dependent.id
), unblocked_history AS (
    INSERT INTO engine_taskevent (task_id, from_state, to_state, actor, note, data, created_at)
    SELECT id, 'blocked', 'pending', %(actor)s, %(unblock_note)s, '{{}}'::jsonb, %(now)s
      FROM unblocked
)
SELECT * FROM finished
"""


@cache
def complete_sql() -> str:
    return COMPLETE_SQL.format(columns=task_columns("task"))


# A claim of a task: its attempt number and its start (None: any claim the worker holds).
Claim = tuple[int | None, datetime | None]


def complete_task(
    *,
    worker: Worker,
    task_id: int,
    result: Any = None,
    attempt: int | None = None,
    started_at: datetime | None = None,
) -> Task:
    """Mark the task done. `attempt` and `started_at` name the claim (as the worker loop
    does); without them any claim the worker holds will do (the REST API's workers)."""
    claim = (attempt, started_at)
    if connection.vendor == "postgresql":
        return _complete_in_one_statement(worker, task_id, result, claim)
    return _complete(worker, task_id, result, claim)


def _complete_in_one_statement(worker: Worker, task_id: int, result: Any, claim: Claim) -> Task:
    params = {
        "result": None if result is None else Jsonb(result),
        "now": timezone.now(),
        "task": task_id,
        "worker": worker.pk,
        "attempt": claim[0],
        "started": claim[1],
        "actor": worker_actor(worker),
        "unblock_note": f"blocker #{task_id} is done",
    }
    task = fetch_task(complete_sql(), params)
    if task is None:
        # Not ours to complete: let the portable path name the reason, changing nothing.
        with transaction.atomic():
            _held_task(worker, task_id, *claim)
        raise LeaseConflict(f"worker {worker.name} does not hold the lease on task {task_id}")
    return task


@transaction.atomic
def _complete(worker: Worker, task_id: int, result: Any, claim: Claim) -> Task:
    task = _held_task(worker, task_id, *claim)
    task.result = result
    task.lease_worker = None
    task.lease_expires_at = None
    set_state(
        task,
        TaskState.DONE,
        actor=worker_actor(worker),
        note="completed",
        update_fields=["result", "lease_worker", "lease_expires_at"],
    )
    _unblock_dependents(task, actor=worker_actor(worker))
    return task


@transaction.atomic
def fail_task(
    *,
    worker: Worker,
    task_id: int,
    error: str,
    retryable: bool = True,
    attempt: int | None = None,
    started_at: datetime | None = None,
) -> Task:
    task = _held_task(worker, task_id, attempt, started_at)
    return fail_attempt(task, error=error, actor=worker_actor(worker), retryable=retryable)


@transaction.atomic
def release_task(
    *,
    worker: Worker,
    task_id: int,
    reason: str = "handed back",
    attempt: int | None = None,
    started_at: datetime | None = None,
) -> Task:
    """Hand a task back unfinished (a worker shutting down): the attempt does not count."""
    task = _held_task(worker, task_id, attempt, started_at)
    task.attempts = max(task.attempts - 1, 0)
    task.run_after = timezone.now()
    task.lease_worker = None
    task.lease_expires_at = None
    task.started_at = None
    set_state(
        task,
        TaskState.PENDING,
        actor=worker_actor(worker),
        note=reason,
        update_fields=["attempts", "run_after", "lease_worker", "lease_expires_at", "started_at"],
    )
    return task


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2 x base, 4 x base ... up to a maximum capped."""
    base = settings.ENGINE_RETRY_BASE_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.ENGINE_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds)


def fail_attempt(task: Task, *, error: str, actor: Actor, retryable: bool = True) -> Task:
    """End the current attempt of a locked running task: retry later, or fail for good."""
    now = timezone.now()
    task.last_error = error
    task.lease_worker = None
    task.lease_expires_at = None
    fields = ["last_error", "lease_worker", "lease_expires_at"]
    if retryable and task.attempts < task.max_attempts:
        delay = retry_delay(task.attempts)
        task.run_after = now + delay
        fields.append("run_after")
        set_state(
            task,
            TaskState.PENDING,
            actor=actor,
            note=f"attempt {task.attempts} of {task.max_attempts} failed; retry in "
            f"{int(delay.total_seconds())}s: {error}",
            update_fields=fields,
        )
    else:
        set_state(
            task,
            TaskState.FAILED,
            actor=actor,
            note=f"failed after {task.attempts} attempt(s): {error}",
            update_fields=fields,
        )
    return task


def end_attempts_held_by(worker: Worker, *, error: str, actor: Actor) -> list[int]:
    """End the attempt of every running task `worker` holds, as `fail_attempt` does: each is
    retried after its backoff, or fails after its last attempt. The ids, in order.

    For a worker that went offline, silent or so marked: it holds nothing any more, so its
    tasks go back to the queue now rather than when their leases run out. Callers run inside
    a transaction, having marked the worker offline first.
    """
    ended: list[int] = []
    held = Task.objects.select_for_update().filter(state=TaskState.RUNNING, lease_worker=worker)
    for task in held.order_by("id"):
        fail_attempt(task, error=error, actor=actor)
        ended.append(task.pk)
    return ended


def _unblock_dependents(task: Task, *, actor: Actor) -> None:
    dependents = list(
        Task.objects.select_for_update().filter(blocked_by=task, state=TaskState.BLOCKED)
    )
    now = timezone.now()
    for dependent in dependents:
        dependent.run_after = now
        set_state(
            dependent,
            TaskState.PENDING,
            actor=actor,
            note=f"blocker #{task.pk} is done",
            update_fields=["run_after"],
        )


__all__ = [
    "Heartbeat",
    "complete_task",
    "end_attempts_held_by",
    "fail_attempt",
    "fail_task",
    "heartbeat",
    "release_task",
    "retry_delay",
]
