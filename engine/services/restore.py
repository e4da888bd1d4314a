"""Putting a task back as it was: the engine's half of a revert.

The caller (self-heal's revert) keeps the earlier values; the engine checks, under the row's
lock, that nobody changed the task since, and writes the state change as a history row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from engine.models import Task, TaskState
from engine.services.errors import InvalidTransition, TaskChanged
from engine.services.history import Actor, set_state
from engine.services.tasks import lock_task

# Never restored: the identity of the row, and the time of its last save, which a restore
# is itself.
NOT_RESTORED = frozenset({"id", "updated_at"})


def task_values(task: Task) -> dict[str, Any]:
    """Every restorable field of a task, by attribute name (``lease_worker_id``, not the row)."""
    return {
        field.attname: getattr(task, field.attname)
        for field in Task._meta.concrete_fields
        if field.attname not in NOT_RESTORED
    }


def changed_fields(task: Task, expected: Mapping[str, Any]) -> list[str]:
    current = task_values(task)
    return sorted(name for name, value in expected.items() if current.get(name) != value)


@transaction.atomic
def restore_task(
    *,
    task_id: int,
    values: Mapping[str, Any],
    actor: Actor,
    expected: Mapping[str, Any] | None = None,
    note: str = "",
) -> Task:
    """Give a task back the field values it had, with one history row for the state.

    ``expected`` holds the values the task must still have (those it was left with);
    if any differs, nothing changes and `TaskChanged` names the fields.
    """
    task = lock_task(task_id)
    if expected is not None:
        moved = changed_fields(task, {k: v for k, v in expected.items() if k not in NOT_RESTORED})
        if moved:
            raise TaskChanged(f"task {task_id} changed since: {', '.join(moved)}")
    unknown = set(values) - set(task_values(task))
    if unknown:
        raise InvalidTransition(f"cannot restore fields {sorted(unknown)} of a task")
    fields = [name for name in values if name not in ("state", "finished_at")]
    for name in fields:
        setattr(task, name, values[name])
    state = TaskState(values.get("state", task.state))
    set_state(task, state, actor=actor, note=note or "restored", update_fields=fields)
    if "finished_at" in values and task.finished_at != values["finished_at"]:
        # set_state stamps finished_at with "now"; a restore wants the original instant.
        task.finished_at = values["finished_at"]
        Task.objects.filter(pk=task.pk).update(finished_at=task.finished_at)
    return task


__all__ = ["NOT_RESTORED", "changed_fields", "restore_task", "task_values"]
