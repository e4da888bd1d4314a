"""The repair playbook: each step within its bound, the rest reported, then verified."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from engine.models import Task, TaskEvent, TaskSource
from engine.services import create_task
from selfheal.error_patterns import top_error_patterns
from selfheal.models import ActionStatus, ExecutionState, Snapshot
from selfheal.playbooks import RepairCommonIssuesPlaybook
from selfheal.playbooks.repair import fix_task_key
from selfheal.rows import serialize_row
from selfheal.services import run_repair
from tests.selfheal.factories import blocked_on_done, failures, stuck_running

pytestmark = pytest.mark.django_db

BOUNDS = RepairCommonIssuesPlaybook.bounds


def steps(execution: Any) -> dict[str, Any]:
    return {step["name"]: step for step in execution.outcome["steps"]}


def test_bounds_live_in_the_code_and_in_the_execution_row() -> None:
    execution = run_repair(triggered_by="user:test")

    assert execution.state == ExecutionState.DONE
    assert execution.bounds == {"reset_blocked": 10, "reset_stuck": 5, "create_fix_tasks": 3}
    assert execution.bounds == BOUNDS
    names = [step["name"] for step in execution.outcome["steps"]]
    assert names == ["reset_blocked", "reset_stuck", "create_fix_tasks"]


def test_only_ten_blocked_tasks_are_reset_and_the_rest_reported() -> None:
    blocked = blocked_on_done(13)

    execution = run_repair(triggered_by="user:test")

    step = steps(execution)["reset_blocked"]
    states = dict(Task.objects.filter(pk__in=[t.pk for t in blocked]).values_list("pk", "state"))
    assert [states[t.pk] for t in blocked] == ["pending"] * 10 + ["blocked"] * 3
    assert (step["candidates"], len(step["applied"]), step["left_count"]) == (13, 10, 3)
    assert step["left"] == [f"engine.task#{t.pk}" for t in blocked[10:]]
    assert execution.actions.filter(step="reset_blocked", status=ActionStatus.APPLIED).count() == 10


def test_only_five_stuck_tasks_are_reset_and_the_rest_reported() -> None:
    stuck = stuck_running(7)

    execution = run_repair(triggered_by="user:test")

    step = steps(execution)["reset_stuck"]
    states = [Task.objects.get(pk=t.pk).state for t in stuck]
    assert states == ["pending"] * 5 + ["running"] * 2
    assert (step["candidates"], len(step["applied"]), step["left_count"]) == (7, 5, 2)
    reset = Task.objects.get(pk=stuck[0].pk)
    assert reset.events.get().actor == "system:selfheal-repair"


def test_at_most_three_fix_tasks_one_per_pattern_and_none_twice() -> None:
    templates = [f"error kind {kind} at step {{n}}" for kind in "ABCDE"]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for template in templates:
            failures(10, template=template)
        first = run_repair(triggered_by="user:test")

    step = steps(first)["create_fix_tasks"]
    fixes = Task.objects.filter(source=TaskSource.SELFHEAL)
    assert fixes.count() == 3
    assert (step["candidates"], len(step["applied"]), step["left_count"]) == (5, 3, 2)
    assert all(t.dedupe_key.startswith("selfheal:fix:tasks:") for t in fixes)
    assert fixes.first().kind == "agent"

    # An hour on, the bound has room again; the two patterns left are still failing.
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        for template in templates[3:] + templates[:3]:
            failures(10, template=template)
        second = run_repair(triggered_by="user:test")

    step = steps(second)["create_fix_tasks"]
    assert Task.objects.filter(source=TaskSource.SELFHEAL).count() == 5
    assert len(step["applied"]) == 2
    assert [item["reason"] for item in step["skipped"]] == ["a fix task is already open"] * 3


def test_a_pattern_with_an_open_fix_task_does_not_use_the_bound() -> None:
    failures(10)
    failures(10, template="other failure {n}")
    since = timezone.now() - timedelta(days=1)
    first, second = top_error_patterns(since=since, limit=2)
    create_task(title="someone is on it", kind="agent", dedupe_key=fix_task_key(first))

    execution = run_repair(triggered_by="user:test")

    step = steps(execution)["create_fix_tasks"]
    created = Task.objects.get(source=TaskSource.SELFHEAL)
    assert created.dedupe_key == fix_task_key(second)
    assert step["skipped"] == [
        {"target": step["skipped"][0]["target"], "reason": "a fix task is already open"}
    ]
    assert (len(step["applied"]), step["left_count"]) == (1, 0)


def test_every_change_has_a_snapshot_taken_before_it() -> None:
    (blocked,) = blocked_on_done(1)
    before = serialize_row(blocked)

    execution = run_repair(triggered_by="user:alice")

    snapshot = Snapshot.objects.get(execution=execution)
    action = snapshot.action
    assert snapshot.before == before
    assert snapshot.after["state"] == "pending"
    assert action.before["state"] == "blocked" and action.after["state"] == "pending"
    assert action.actor == "user:alice"
    assert action.bound == 10
    assert "blocker is done" in action.why


def test_verify_runs_the_diagnosis_again_and_records_what_improved() -> None:
    stuck_running(2)

    execution = run_repair(triggered_by="user:test")

    verify = execution.outcome["verify"]
    improved = {item["check"]: item for item in verify["improved"]}
    assert improved["task_queue"]["before"] == "warning"
    assert improved["task_queue"]["counts"]["running_past_lease"] == [2, 0]
    assert "task_queue" not in {item["check"] for item in verify["not_improved"]}
    assert execution.findings.filter(phase="verify").count() == 6
    assert "Improved: task_queue (warning→ok; running past lease 2→0)" in execution.summary


def test_a_dry_run_shows_what_would_change_and_changes_nothing() -> None:
    blocked_on_done(12)
    stuck_running(6)
    failures(10)
    tasks_before = [serialize_row(t) for t in Task.objects.order_by("pk")]
    events_before = TaskEvent.objects.count()

    execution = run_repair(triggered_by="user:test", dry_run=True)

    assert [serialize_row(t) for t in Task.objects.order_by("pk")] == tasks_before
    assert TaskEvent.objects.count() == events_before
    assert not execution.snapshots.exists()
    planned = execution.actions.filter(status=ActionStatus.PLANNED)
    assert planned.filter(step="reset_blocked").count() == 10
    assert planned.filter(step="reset_stuck").count() == 5
    assert planned.filter(step="create_fix_tasks").count() == 1
    assert planned.filter(step="reset_blocked").first().after["state"] == "pending"
    assert steps(execution)["reset_blocked"]["left_count"] == 2
    assert execution.summary.startswith("Would unblock 10 of 12 blocked tasks (2 past the bound)")
    assert execution.outcome["verify"] == {"skipped": "a dry run changes nothing to verify"}


def test_no_fix_task_for_a_pattern_the_diagnosis_calls_quiet() -> None:
    quiet = failures(12, template="quiet failure {n}")
    for position, task in enumerate(quiet):
        task.finished_at = timezone.now() - timedelta(minutes=16 + position)
        task.save(update_fields=["finished_at"])
    failures(12, template="still failing {n}")

    execution = run_repair(triggered_by="user:test")

    (fix,) = Task.objects.filter(source=TaskSource.SELFHEAL)
    assert fix.title.startswith("Fix recurring error: still failing")
    assert steps(execution)["create_fix_tasks"]["candidates"] == 1
    finding = execution.findings.get(phase="check", check_name="error_patterns")
    assert (finding.evidence["recurring"], finding.evidence["quiet"]) == (1, 1)


def test_the_diagnosis_and_the_repair_share_one_definition(monkeypatch: Any) -> None:
    from selfheal.checks import ErrorPatternsCheck
    from selfheal.error_patterns import RECURRENCE, Recurrence

    assert ErrorPatternsCheck.RECURRENCE is RECURRENCE
    quiet = failures(12)
    for task in quiet:
        task.finished_at = timezone.now() - timedelta(hours=2)
        task.save(update_fields=["finished_at"])
    # A longer memory for "still being seen" changes both, together.
    monkeypatch.setattr(
        ErrorPatternsCheck, "RECURRENCE", Recurrence(quiet_after=timedelta(hours=3))
    )

    execution = run_repair(triggered_by="user:test")

    finding = execution.findings.get(phase="check", check_name="error_patterns")
    assert finding.severity == "warning"
    assert Task.objects.filter(source=TaskSource.SELFHEAL).count() == 1
