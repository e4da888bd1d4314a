"""Revert: rows back exactly as they were, except those changed since (named, and why)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.models import Task, TaskSource, TaskState
from engine.services import EngineError, TaskRouter
from selfheal.errors import NotRevertible
from selfheal.models import ExecutionState, RestoreStatus
from selfheal.rows import serialize_row
from selfheal.services import revert_execution, run_repair
from tests.factories import WorkerFactory
from tests.selfheal.factories import blocked_on_done, failures, stuck_running

pytestmark = pytest.mark.django_db


def without_save_time(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "updated_at"}


def test_revert_restores_every_changed_row_exactly_and_undoes_created_ones() -> None:
    blocked = blocked_on_done(2)
    stuck = stuck_running(1)
    failures(10)
    before = {t.pk: without_save_time(serialize_row(t)) for t in blocked + stuck}
    repair = run_repair(triggered_by="user:alice")
    fix = Task.objects.get(source=TaskSource.SELFHEAL)

    revert = revert_execution(execution_id=repair.pk, triggered_by="user:bob")

    assert revert.state == ExecutionState.DONE, revert.error
    for pk, row in before.items():
        assert without_save_time(serialize_row(Task.objects.get(pk=pk))) == row
    fix.refresh_from_db()
    assert fix.state == TaskState.CANCELLED
    last = Task.objects.get(pk=stuck[0].pk).events.last()
    assert (last.actor, last.to_state) == ("system:selfheal-revert", "running")
    assert f"#{repair.pk}" in last.note and "user:bob" in last.note
    repair.refresh_from_db()
    assert repair.reverted_at is not None
    assert set(repair.snapshots.values_list("restore_status", flat=True)) == {
        RestoreStatus.RESTORED
    }
    assert revert.target_id == repair.pk and revert.triggered_by == "user:bob"
    assert revert.actions.filter(status="applied").count() == 4
    assert "Restored 4 of 4" in revert.summary


def test_revert_leaves_rows_changed_since_and_says_which_and_why() -> None:
    first, second = blocked_on_done(2)
    repair = run_repair(triggered_by="user:alice")
    worker = WorkerFactory(capabilities=["echo"])
    claimed = TaskRouter().claim(worker)
    assert claimed is not None and claimed.pk == first.pk

    revert = revert_execution(execution_id=repair.pk, triggered_by="user:bob")

    assert Task.objects.get(pk=first.pk).state == TaskState.RUNNING
    assert Task.objects.get(pk=second.pk).state == TaskState.BLOCKED
    (step,) = revert.outcome["steps"]
    (left,) = step["skipped"]
    assert left["target"] == f"engine.task#{first.pk}"
    assert left["reason"].startswith("changed since: ")
    assert "state" in left["reason"] and "lease_worker_id" in left["reason"]
    snapshot = repair.snapshots.get(object_pk=str(first.pk))
    assert snapshot.restore_status == RestoreStatus.SKIPPED
    assert f"engine.task#{first.pk}" in revert.summary


def test_a_fix_task_already_claimed_is_not_cancelled() -> None:
    failures(10)
    repair = run_repair(triggered_by="user:alice")
    fix = Task.objects.get(source=TaskSource.SELFHEAL)
    TaskRouter().claim(WorkerFactory(capabilities=["agent"]))

    revert = revert_execution(execution_id=repair.pk, triggered_by="user:bob")

    assert Task.objects.get(pk=fix.pk).state == TaskState.RUNNING
    assert revert.outcome["steps"][0]["skipped"][0]["target"] == f"engine.task#{fix.pk}"


@pytest.mark.parametrize("case", ["dry run", "twice", "nothing changed", "a revert", "missing"])
def test_what_cannot_be_reverted_is_refused(case: str) -> None:
    blocked_on_done(1)
    if case == "dry run":
        execution_id = run_repair(triggered_by="user:a", dry_run=True).pk
    elif case == "twice":
        execution_id = run_repair(triggered_by="user:a").pk
        revert_execution(execution_id=execution_id, triggered_by="user:a")
    elif case == "a revert":
        repair = run_repair(triggered_by="user:a").pk
        execution_id = revert_execution(execution_id=repair, triggered_by="user:a").pk
    elif case == "nothing changed":
        Task.objects.update(state=TaskState.CANCELLED)
        execution_id = run_repair(triggered_by="user:a").pk
    else:
        execution_id = 999_999

    with pytest.raises(EngineError) as raised:
        revert_execution(execution_id=execution_id, triggered_by="user:a")

    expected = 404 if case == "missing" else 409
    assert raised.value.status_code == expected
    assert case == "missing" or isinstance(raised.value, NotRevertible)


def test_a_revert_that_failed_can_be_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from selfheal.playbooks.revert import RevertPlaybook

    blocked = blocked_on_done(1)
    repair = run_repair(triggered_by="user:alice")

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    with monkeypatch.context() as patched:
        patched.setattr(RevertPlaybook, "_restore", explode)
        failed = revert_execution(execution_id=repair.pk, triggered_by="user:bob")
    assert failed.state == ExecutionState.FAILED

    retried = revert_execution(execution_id=repair.pk, triggered_by="user:bob")

    assert retried.state == ExecutionState.DONE, retried.error
    blocked[0].refresh_from_db()
    assert blocked[0].state == TaskState.BLOCKED
