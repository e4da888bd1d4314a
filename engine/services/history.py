"""The one place a task's state changes, so that every change leaves a history row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from engine.models import FINISHED_STATES, Task, TaskEvent, TaskState, Worker

Actor = str


def user_actor(user: AbstractBaseUser | AnonymousUser | None) -> Actor:
    if user is None or not user.is_authenticated:
        return "system:anonymous"
    return f"user:{user.get_username()}"


def worker_actor(worker: Worker) -> Actor:
    return f"worker:{worker.name}"


def system_actor(rule: str) -> Actor:
    return f"system:{rule}"


def set_state(
    task: Task,
    to_state: TaskState,
    *,
    actor: Actor,
    note: str = "",
    data: dict[str, Any] | None = None,
    update_fields: Iterable[str] = (),
) -> TaskEvent:
    """Move `task` to `to_state`, save the listed fields and write one history row.

    Callers hold the row (a lock or a conditional update) and run inside a transaction.
    """
    from_state = task.state
    now = timezone.now()
    task.state = to_state
    fields = {"state", "updated_at", *update_fields}
    if to_state in FINISHED_STATES:
        task.finished_at = now
        fields.add("finished_at")
    elif task.finished_at is not None:
        task.finished_at = None
        fields.add("finished_at")
    task.save(update_fields=sorted(fields))
    return record_transition(
        task_id=task.pk, from_state=from_state, to_state=to_state, actor=actor, note=note, data=data
    )


def record_transition(
    *,
    task_id: int,
    from_state: str,
    to_state: str,
    actor: Actor,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> TaskEvent:
    """The history row for a change made by a conditional UPDATE (the hot paths)."""
    return TaskEvent.objects.create(
        task_id=task_id,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        note=note,
        data=data or {},
        created_at=timezone.now(),
    )
