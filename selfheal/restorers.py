"""How a snapshot's row is put back, per model.

Tasks go through the engine's services, so that each restore is a row in the task's history
(actor ``system:selfheal-revert``); a task a playbook created is cancelled, not deleted, so
its history stays. Other models are written back directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps

from engine.services import cancel_task, restore_task
from engine.services.history import system_actor
from selfheal.models import Snapshot
from selfheal.rows import deserialize_row

REVERT_ACTOR = system_actor("selfheal-revert")
NEVER_WRITTEN = ("id", "updated_at")

Apply = Callable[[Snapshot, str], None]


@dataclass(frozen=True)
class Restorer:
    restore: Apply  # an updated row back to its "before"
    undo_create: Apply  # a created row undone
    undo_create_planned: dict[str, Any]


def _values(snapshot: Snapshot, which: dict[str, Any] | None) -> dict[str, Any]:
    values = deserialize_row(snapshot.model_label, which or {})
    for name in NEVER_WRITTEN:
        values.pop(name, None)
    return values


def _restore_task(snapshot: Snapshot, note: str) -> None:
    restore_task(
        task_id=int(snapshot.object_pk),
        values=_values(snapshot, snapshot.before),
        expected=_values(snapshot, snapshot.after),
        actor=REVERT_ACTOR,
        note=note,
    )


def _cancel_task(snapshot: Snapshot, note: str) -> None:
    cancel_task(task_id=int(snapshot.object_pk), actor=REVERT_ACTOR, note=note)


def _restore_row(snapshot: Snapshot, note: str) -> None:
    model = apps.get_model(snapshot.model_label)
    model._default_manager.filter(pk=snapshot.object_pk).update(
        **_values(snapshot, snapshot.before)
    )


def _delete_row(snapshot: Snapshot, note: str) -> None:
    model = apps.get_model(snapshot.model_label)
    model._default_manager.filter(pk=snapshot.object_pk).delete()


GENERIC = Restorer(_restore_row, _delete_row, {"deleted": True})
_restorers: dict[str, Restorer] = {
    "engine.task": Restorer(_restore_task, _cancel_task, {"state": "cancelled"}),
}


def restorer_for(model_label: str) -> Restorer:
    return _restorers.get(model_label, GENERIC)
