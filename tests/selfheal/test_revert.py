"""Revert: rows back exactly as they were, except those changed since (named, and why)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from engine.models import Task, TaskSource, TaskState
from engine.services import EngineError, TaskRouter
from selfheal.errors import NotRevertible
from selfheal.models import ExecutionState, RestoreStatus
from selfheal.rows import serialize_row
from selfheal.services import revert_execution, run_repair
from tests.factories import WorkerFactory, api_client_for
from tests.selfheal.factories import blocked_on_done, failures, grant_repair, stuck_running

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
    assert revert.state == ExecutionState.PARTIAL
    assert revert.summary.startswith(
        f"Partly reverted: Restored 1 of 2 row(s) of execution #{repair.pk}."
    )
    repair.refresh_from_db()
    assert repair.revert_state == ExecutionState.PARTIAL


def test_a_revert_that_restores_nothing_says_so_everywhere(user: Any) -> None:
    blocked = blocked_on_done(3)
    repair = run_repair(triggered_by="user:alice")
    Task.objects.filter(pk__in=[t.pk for t in blocked]).update(priority=99)  # all moved since
    staff = grant_repair(user)
    staff.is_staff = staff.is_superuser = True
    staff.save()

    revert = revert_execution(execution_id=repair.pk, triggered_by="user:bob")

    assert revert.state == ExecutionState.PARTIAL, "0 of 3 restored is not done"
    assert revert.summary.startswith("Nothing restored: Restored 0 of 3 row(s)")
    assert revert.restored_nothing and revert.state_label == "Nothing restored"
    for task in blocked:
        assert f"engine.task#{task.pk} (changed since: priority)" in revert.summary
    repair.refresh_from_db()
    assert repair.revert_state == "partial" and repair.reverted_at is not None
    assert not repair.revertible, "the same rows would be left again"
    # The API, both rows.
    api = api_client_for(staff)
    assert api.get(f"/api/selfheal/executions/{revert.pk}/").json()["state"] == "partial"
    body = api.get(f"/api/selfheal/executions/{repair.pk}/").json()
    assert body["revert_state"] == "partial"
    assert {s["restore_status"] for s in body["snapshots"]} == {"skipped"}
    assert {s["restore_note"] for s in body["snapshots"]} == {"changed since: priority"}
    # The page: neither a green Done nor "Partly done" for the revert, nor "reverted" or
    # "partly reverted" for the repair: nothing came back, and the reasons are shown.
    browser = Client()
    browser.force_login(staff)
    page = browser.get(reverse("selfheal:page") + f"?execution={revert.pk}").content.decode()
    assert ">Nothing restored</span>" in page and "Partly done" not in page
    assert "sh-state-done" not in page.split('id="sh-lists"')[0]
    history = browser.get(reverse("selfheal:lists")).content.decode()
    assert '<span class="tag sh-revert-partial">revert restored nothing</span>' in history
    assert ">Nothing restored</span>" in history
    assert ">reverted<" not in history and "partly" not in history
    shown = browser.get(reverse("selfheal:page") + f"?execution={repair.pk}").content.decode()
    assert "revert restored nothing" in shown and "partly reverted" not in shown
    assert f'Revert <a href="?execution={revert.pk}">' in shown
    assert "changed since: priority" in shown


def test_the_admin_warns_when_a_revert_leaves_rows(user: Any) -> None:
    blocked = blocked_on_done(2)
    repair = run_repair(triggered_by="user:alice")
    Task.objects.filter(pk=blocked[0].pk).update(priority=99)
    user.is_staff = user.is_superuser = True
    user.save()
    browser = Client()
    browser.force_login(user)

    response = browser.post(
        reverse("admin:selfheal_playbookexecution_changelist"),
        {"action": "revert_selected", "_selected_action": [repair.pk]},
        follow=True,
    )

    (message,) = list(response.context["messages"])
    assert message.level_tag == "warning"
    assert "partial: Partly reverted: Restored 1 of 2" in message.message
    assert f"engine.task#{blocked[0].pk} (changed since: priority)" in message.message
    listing = browser.get(reverse("admin:selfheal_playbookexecution_changelist")).content.decode()
    assert "Partly done" in listing


def test_a_full_revert_marks_the_execution_reverted_and_done() -> None:
    blocked_on_done(2)
    repair = run_repair(triggered_by="user:alice")

    revert = revert_execution(execution_id=repair.pk, triggered_by="user:bob")

    repair.refresh_from_db()
    assert (revert.state, repair.revert_state) == ("done", "done")
    assert not revert.summary.startswith("Partly")


def test_a_dry_run_revert_says_which_rows_it_would_leave() -> None:
    first, second = blocked_on_done(2)
    repair = run_repair(triggered_by="user:alice")
    Task.objects.filter(pk=first.pk).update(priority=99)

    plan = revert_execution(execution_id=repair.pk, triggered_by="user:bob", dry_run=True)

    assert plan.state == ExecutionState.PARTIAL
    assert plan.summary.startswith("Would restore 1 of 2")
    assert f"engine.task#{first.pk} (changed since: priority)" in plan.summary
    assert Task.objects.get(pk=second.pk).state == TaskState.PENDING, "a plan changes nothing"
    repair.refresh_from_db()
    assert repair.revert_state == "" and repair.revertible


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
    repair.refresh_from_db()
    assert (repair.reverted_at, repair.revert_state) == (None, "")

    retried = revert_execution(execution_id=repair.pk, triggered_by="user:bob")

    assert retried.state == ExecutionState.DONE, retried.error
    repair.refresh_from_db()
    assert repair.revert_state == "done"
    blocked[0].refresh_from_db()
    assert blocked[0].state == TaskState.BLOCKED
