from __future__ import annotations

import pytest

from engine.models import ApprovalDecision, Task, TaskState
from engine.services import (
    InvalidTransition,
    TaskNotFound,
    approve_task,
    cancel_task,
    create_task,
    extend_task_timeout,
    reject_task,
    request_approval,
    retry_task,
)
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def test_create_task_writes_a_history_row_with_its_author(user) -> None:
    created = create_task(title="t", kind="echo", created_by=user)

    assert created.created
    assert list(created.task.events.values_list("to_state", "actor")) == [("pending", "user:alice")]


def test_duplicate_dedupe_key_returns_the_unfinished_task() -> None:
    first = create_task(title="a", kind="echo", dedupe_key="fp:123")
    second = create_task(title="b", kind="echo", dedupe_key="fp:123")

    assert not second.created
    assert second.task.pk == first.task.pk
    assert Task.objects.count() == 1


def test_dedupe_key_is_free_again_once_the_task_is_finished() -> None:
    first = create_task(title="a", kind="echo", dedupe_key="fp:1")
    cancel_task(task_id=first.task.pk, actor="system:test")

    again = create_task(title="a again", kind="echo", dedupe_key="fp:1")

    assert again.created and again.task.pk != first.task.pk


def test_dedupe_constraint_holds_even_when_the_lookup_is_skipped() -> None:
    """The database constraint, not only the lookup, keeps keys unique among live tasks."""
    from django.db import IntegrityError, transaction

    TaskFactory(dedupe_key="k")
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFactory(dedupe_key="k")


def test_task_blocked_by_an_unfinished_task_starts_blocked() -> None:
    blocker = create_task(title="first", kind="echo").task
    dependent = create_task(title="second", kind="echo", blocked_by=blocker).task

    assert dependent.state == TaskState.BLOCKED


def test_approve_returns_task_to_pending_and_can_reroute(staff) -> None:
    task = create_task(title="t", kind="ops.restart").task
    request_approval(task_id=task.pk, reason="no worker", actor="system:test")

    approved = approve_task(task_id=task.pk, user=staff, reroute_kind="echo")

    assert approved.state == TaskState.PENDING
    assert approved.kind == "echo"
    assert approved.approval_decision == ApprovalDecision.APPROVED
    assert approved.decided_by == staff
    last = approved.events.last()
    assert last is not None and last.data == {"rerouted_from": "ops.restart", "rerouted_to": "echo"}


def test_reject_cancels(staff) -> None:
    task = create_task(title="t", kind="x").task
    request_approval(task_id=task.pk, reason="why", actor="system:test")

    rejected = reject_task(task_id=task.pk, user=staff)

    assert rejected.state == TaskState.CANCELLED
    assert rejected.finished_at is not None
    assert rejected.approval_decision == ApprovalDecision.REJECTED


def test_approving_a_task_not_waiting_is_refused_and_changes_nothing(staff) -> None:
    task = create_task(title="t", kind="echo").task

    with pytest.raises(InvalidTransition):
        approve_task(task_id=task.pk, user=staff)

    task.refresh_from_db()
    assert task.state == TaskState.PENDING
    assert task.events.count() == 1


def test_cancel_a_finished_task_is_refused() -> None:
    task = TaskFactory(state=TaskState.DONE)
    with pytest.raises(InvalidTransition):
        cancel_task(task_id=task.pk, actor="system:test")


def test_retry_gives_a_failed_task_fresh_attempts() -> None:
    task = TaskFactory(state=TaskState.FAILED, attempts=3, last_error="boom")

    retried = retry_task(task_id=task.pk, actor="user:alice")

    assert retried.state == TaskState.PENDING
    assert retried.attempts == 0
    assert retried.finished_at is None


def test_retry_refuses_when_another_task_holds_the_dedupe_key() -> None:
    old = TaskFactory(state=TaskState.FAILED, dedupe_key="k")
    TaskFactory(state=TaskState.PENDING, dedupe_key="k")

    with pytest.raises(InvalidTransition, match="dedupe key"):
        retry_task(task_id=old.pk, actor="user:alice")


def test_unknown_task_is_not_found() -> None:
    with pytest.raises(TaskNotFound):
        cancel_task(task_id=999_999, actor="system:test")


def test_a_users_task_is_decided_by_that_user_or_a_superuser(
    user, staff, django_user_model
) -> None:
    from engine.services import NotAllowed

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    mine = create_task(title="dangerous call", kind="chat.tool", created_by=user).task
    request_approval(task_id=mine.pk, reason="run rm?", actor="system:test")

    with pytest.raises(NotAllowed):
        approve_task(task_id=mine.pk, user=bob)
    with pytest.raises(NotAllowed):
        reject_task(task_id=mine.pk, user=bob)
    mine.refresh_from_db()
    assert mine.state == TaskState.WAITING_APPROVAL

    assert approve_task(task_id=mine.pk, user=staff).state == TaskState.PENDING


def test_a_system_task_is_for_those_who_may_decide_others_tasks(user) -> None:
    from django.contrib.auth.models import Group

    from engine.services import NotAllowed

    task = create_task(title="stranded", kind="x").task
    request_approval(task_id=task.pk, reason="no worker", actor="system:test")

    with pytest.raises(NotAllowed, match=r"engine\.decide_others_task"):
        reject_task(task_id=task.pk, user=user)
    user.groups.add(Group.objects.get(name="operator"))
    user = type(user).objects.get(pk=user.pk)  # a fresh permission cache
    assert reject_task(task_id=task.pk, user=user).state == TaskState.CANCELLED


def test_a_timeout_is_extended_but_never_shortened() -> None:
    task = create_task(title="t", kind="echo", timeout_seconds=300).task

    assert extend_task_timeout(task_id=task.pk, seconds=900).timeout_seconds == 900
    assert extend_task_timeout(task_id=task.pk, seconds=60).timeout_seconds == 900
    task.refresh_from_db()
    assert task.timeout_seconds == 900
    assert task.events.count() == 1, "not a change of state: no history row"


def test_a_finished_tasks_timeout_is_not_extended() -> None:
    task = create_task(title="t", kind="echo").task
    cancel_task(task_id=task.pk, actor="system:test")

    with pytest.raises(InvalidTransition):
        extend_task_timeout(task_id=task.pk, seconds=900)
