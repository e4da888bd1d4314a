"""The safety every playbook gets from `Playbook`: one run at a time, bounds enforced,
snapshots before changes, an audit row per action, a failed run recorded and unlocked."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.utils import timezone

from engine.models import Task
from selfheal.errors import AlreadyRunning
from selfheal.models import ActionStatus, ExecutionState, PlaybookExecution, Snapshot
from selfheal.playbooks import Playbook, Run, SkipRow
from selfheal.services import run_diagnosis
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


class RaisePriority(Playbook):
    name = "test-raise-priority"
    title = "Raise priority"
    MAX_TOUCHED = 2
    bounds = {"raise": MAX_TOUCHED}

    def __init__(self, *, tasks: list[Task], overreach: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tasks = tasks
        self.overreach = overreach
        self.guard: Any = None

    def run(self, run: Run) -> None:
        step = run.step("raise", candidates=len(self.tasks))
        for task in self.tasks:
            if not step.has_room and not self.overreach:
                break
            run.change(
                step,
                target=task,
                what=f"Raise #{task.pk}",
                why="a test",
                apply=partial(Task.objects.filter(pk=task.pk).update, priority=99),
                planned={"priority": 99},
                guard=self.guard,
            )


class Undeclared(Playbook):
    name = "test-undeclared"
    title = "Undeclared"

    def run(self, run: Run) -> None:
        run.step("anything", candidates=1)


def test_a_second_run_while_one_runs_is_refused() -> None:
    running = PlaybookExecution.objects.create(playbook=RaisePriority.name, triggered_by="user:bob")

    with pytest.raises(AlreadyRunning, match=f"#{running.pk}, by user:bob"):
        RaisePriority(tasks=[], triggered_by="user:alice").execute()

    assert PlaybookExecution.objects.filter(playbook=RaisePriority.name).count() == 1


def test_a_run_abandoned_by_a_dead_process_no_longer_locks() -> None:
    stale = timezone.now() - timedelta(seconds=Playbook.STALE_AFTER_SECONDS + 1)
    dead = PlaybookExecution.objects.create(
        playbook=RaisePriority.name, triggered_by="user:bob", heartbeat_at=stale
    )

    execution = RaisePriority(tasks=[], triggered_by="user:alice").execute()

    dead.refresh_from_db()
    assert execution.state == ExecutionState.DONE
    assert dead.state == ExecutionState.FAILED and "abandoned" in dead.error


def test_a_step_past_its_bound_is_stopped_before_it_acts() -> None:
    tasks = TaskFactory.create_batch(3, priority=1)

    execution = RaisePriority(tasks=tasks, overreach=True, triggered_by="user:test").execute()

    assert execution.state == ExecutionState.FAILED
    assert "exceed its bound of 2" in execution.error
    assert sorted(Task.objects.values_list("priority", flat=True)) == [1, 99, 99]
    assert Snapshot.objects.filter(execution=execution).count() == 2


def test_a_step_must_declare_its_bound() -> None:
    execution = Undeclared(triggered_by="user:test").execute()

    assert execution.state == ExecutionState.FAILED
    assert "declares no bound" in execution.error


def test_each_change_is_snapshotted_and_audited() -> None:
    task = TaskFactory(priority=1)

    execution = RaisePriority(tasks=[task], triggered_by="rule:nightly").execute()

    action = execution.actions.get()
    snapshot = execution.snapshots.get()
    assert (action.status, action.before, action.after) == (
        "applied",
        {"priority": 1},
        {"priority": 99},
    )
    assert (action.actor, action.bound, action.target) == (
        "rule:nightly",
        2,
        f"engine.task#{task.pk}",
    )
    assert snapshot.action == action
    assert snapshot.before["priority"] == 1 and snapshot.after["priority"] == 99
    assert execution.bounds == {"raise": 2}


def test_a_guard_leaves_a_row_that_no_longer_qualifies() -> None:
    task = TaskFactory(priority=1)
    playbook = RaisePriority(tasks=[task], triggered_by="user:test")

    def moved(locked: Task) -> None:
        raise SkipRow("it moved meanwhile")

    playbook.guard = moved
    execution = playbook.execute()

    action = execution.actions.get()
    assert action.status == ActionStatus.SKIPPED and "it moved meanwhile" in action.why
    assert execution.outcome["steps"][0]["skipped"] == [
        {"target": f"engine.task#{task.pk}", "reason": "it moved meanwhile"}
    ]
    assert not execution.snapshots.exists()
    assert Task.objects.get(pk=task.pk).priority == 1


def test_a_dry_run_records_the_plan_and_changes_nothing() -> None:
    task = TaskFactory(priority=1)

    execution = RaisePriority(tasks=[task], triggered_by="user:test", dry_run=True).execute()

    action = execution.actions.get()
    assert (action.status, action.before, action.after) == (
        "planned",
        {"priority": 1},
        {"priority": 99},
    )
    assert Task.objects.get(pk=task.pk).priority == 1
    assert not execution.snapshots.exists()


def test_a_crash_is_recorded_and_releases_the_lock() -> None:
    playbook = RaisePriority(tasks=[], triggered_by="user:test")

    def crash(execution: Any, progress: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    class Crashing(RaisePriority):
        def run(self, run: Run) -> None:
            run.progress("about to crash", step=1)

    crashing = Crashing(tasks=[], triggered_by="user:test", observer=crash)
    failed = crashing.execute()

    assert failed.state == ExecutionState.FAILED
    assert failed.error == "RuntimeError: boom"
    assert playbook.execute().state == ExecutionState.DONE


def test_progress_is_written_to_the_row_as_the_run_goes() -> None:
    seen: list[dict[str, Any]] = []

    def watch(execution: PlaybookExecution, progress: dict[str, Any]) -> None:
        seen.append(PlaybookExecution.objects.get(pk=execution.pk).progress)

    execution = run_diagnosis(triggered_by="user:test", observer=watch)

    assert [p["step"] for p in seen] == [1, 2, 3, 4, 5, 6]
    assert all(p["of"] == 6 for p in seen)
    assert seen[1]["label"] == "Checking: Workers and heartbeats"
    assert execution.progress == {"label": "finished", "step": 6, "of": 6}
