"""What a worker does with a task it holds: heartbeat, complete, fail, hand back.

A worker may only act on a task whose lease it holds; anything else is a `LeaseConflict`
(HTTP 409) and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from engine.models import Task, TaskState, Worker, WorkerState
from engine.services.errors import LeaseConflict, TaskNotFound
from engine.services.history import Actor, set_state, worker_actor


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


def _held_task(worker: Worker, task_id: int) -> Task:
    task = Task.objects.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise TaskNotFound(f"task {task_id} does not exist")
    if task.state != TaskState.RUNNING or task.lease_worker_id != worker.pk:
        raise LeaseConflict(f"worker {worker.name} does not hold the lease on task {task_id}")
    return task


@transaction.atomic
def complete_task(*, worker: Worker, task_id: int, result: Any = None) -> Task:
    task = _held_task(worker, task_id)
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
def fail_task(*, worker: Worker, task_id: int, error: str, retryable: bool = True) -> Task:
    task = _held_task(worker, task_id)
    return fail_attempt(task, error=error, actor=worker_actor(worker), retryable=retryable)


@transaction.atomic
def release_task(*, worker: Worker, task_id: int, reason: str = "handed back") -> Task:
    """Hand a task back unfinished (a worker shutting down): the attempt does not count."""
    task = _held_task(worker, task_id)
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
    "fail_attempt",
    "fail_task",
    "heartbeat",
    "release_task",
    "retry_delay",
]
