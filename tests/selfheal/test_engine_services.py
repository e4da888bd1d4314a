"""The engine services self-heal added: unblock, reset a stuck task, restore a task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engine.models import TaskState
from engine.services import (
    InvalidTransition,
    TaskChanged,
    reset_stuck_task,
    restore_task,
    unblock_task,
)
from engine.services.restore import task_values
from tests.factories import TaskFactory
from tests.selfheal.factories import blocked_on_done, stuck_running

pytestmark = pytest.mark.django_db


def test_unblock_moves_a_blocked_task_to_pending_with_a_history_row() -> None:
    (task,) = blocked_on_done(1)

    unblock_task(task_id=task.pk, actor="system:test", note="why")

    task.refresh_from_db()
    assert task.state == TaskState.PENDING
    assert list(task.events.values_list("from_state", "to_state", "actor", "note")) == [
        ("blocked", "pending", "system:test", "why")
    ]


def test_unblock_refuses_a_task_that_is_not_blocked() -> None:
    task = TaskFactory(state=TaskState.PENDING)

    with pytest.raises(InvalidTransition):
        unblock_task(task_id=task.pk, actor="system:test")


def test_reset_stuck_ends_the_attempt_of_an_expired_lease() -> None:
    (task,) = stuck_running(1)

    reset_stuck_task(task_id=task.pk, actor="system:test")

    task.refresh_from_db()
    assert task.state == TaskState.PENDING
    assert task.lease_worker is None and task.lease_expires_at is None
    assert "expired" in task.last_error
    assert task.events.get().actor == "system:test"


def test_reset_stuck_fails_a_task_on_its_last_attempt() -> None:
    (task,) = stuck_running(1, attempts=3)

    reset_stuck_task(task_id=task.pk, actor="system:test")

    task.refresh_from_db()
    assert task.state == TaskState.FAILED
    assert task.finished_at is not None


def test_reset_stuck_refuses_a_live_lease() -> None:
    task = TaskFactory(
        state=TaskState.RUNNING, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )

    with pytest.raises(InvalidTransition):
        reset_stuck_task(task_id=task.pk, actor="system:test")


def test_restore_puts_every_field_back_with_one_history_row() -> None:
    (task,) = stuck_running(1)
    before = task_values(task)
    reset_stuck_task(task_id=task.pk, actor="system:test")
    task.refresh_from_db()

    restore_task(task_id=task.pk, values=before, expected=task_values(task), actor="system:revert")

    task.refresh_from_db()
    assert task_values(task) == before
    assert task.events.last().actor == "system:revert"


def test_restore_refuses_a_task_changed_since() -> None:
    (task,) = blocked_on_done(1)
    before = task_values(task)
    unblock_task(task_id=task.pk, actor="system:test")
    task.refresh_from_db()
    left = task_values(task)
    task.priority = 99
    task.save()

    with pytest.raises(TaskChanged, match="priority"):
        restore_task(task_id=task.pk, values=before, expected=left, actor="system:revert")

    task.refresh_from_db()
    assert task.state == TaskState.PENDING
