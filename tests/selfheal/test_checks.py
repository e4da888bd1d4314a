"""Each of the six checks, healthy and unhealthy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.utils import ConnectionHandler
from django.utils import timezone

from engine.models import Task, TaskState, WorkerState
from selfheal.checks import (
    CheckContext,
    CompletionRateCheck,
    DatabaseCheck,
    ErrorPatternsCheck,
    QueueCheck,
    ResourcesCheck,
    WorkersCheck,
)
from selfheal.models import Severity
from tests.factories import TaskFactory, WorkerFactory
from tests.selfheal.factories import blocked_on_done, done_task, failures, stuck_running

pytestmark = pytest.mark.django_db


# --- 1. database -------------------------------------------------------------------------
def test_database_answers_with_its_latency() -> None:
    outcome = DatabaseCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.OK
    assert outcome.result.evidence["latency_ms"] >= 0
    assert outcome.duration_ms > 0


def test_database_that_does_not_answer_is_critical(tmp_path: object) -> None:
    handler = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/nonexistent/dir/x.db"}}
    )
    outcome = DatabaseCheck(connection=handler["default"]).measure(CheckContext.current())

    assert outcome.severity == Severity.CRITICAL
    assert "does not answer" in outcome.result.message
    assert outcome.result.suggestion


def test_database_slower_than_the_threshold_warns() -> None:
    outcome = DatabaseCheck(SLOW_MS=0.0).measure(CheckContext.current())

    assert outcome.severity == Severity.WARNING
    assert "slower than" in outcome.result.message


# --- 2. workers --------------------------------------------------------------------------
def test_workers_online_and_covering_the_work_are_ok() -> None:
    WorkerFactory(capabilities=["echo"])
    TaskFactory(kind="echo")

    outcome = WorkersCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.OK
    assert outcome.result.evidence["online"] == 1


def test_late_and_offline_workers_are_counted() -> None:
    now = timezone.now()
    WorkerFactory(name="fresh", capabilities=["echo"])
    WorkerFactory(name="slow", last_heartbeat_at=now - timedelta(seconds=50))
    WorkerFactory(name="gone", state=WorkerState.OFFLINE)
    WorkerFactory(name="silent", last_heartbeat_at=now - timedelta(minutes=10))

    outcome = WorkersCheck().measure(CheckContext(now=now))

    evidence = outcome.result.evidence
    assert outcome.severity == Severity.WARNING
    assert (evidence["online"], evidence["late"], evidence["offline"]) == (1, 1, 2)
    assert evidence["late_workers"] == ["slow"]
    assert evidence["offline_workers"] == ["gone", "silent"]


def test_pending_work_no_online_worker_can_do_warns() -> None:
    WorkerFactory(capabilities=["echo"])
    WorkerFactory(capabilities=["gpu"], state=WorkerState.OFFLINE)
    TaskFactory.create_batch(2, kind="gpu")

    outcome = WorkersCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.WARNING
    assert outcome.result.evidence["capabilities_without_online_worker"] == ["gpu"]
    assert outcome.result.evidence["pending_without_capable_worker"] == {"gpu": 2}


def test_no_worker_at_all_with_work_waiting_is_critical() -> None:
    TaskFactory(kind="echo")

    outcome = WorkersCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.CRITICAL


# --- 3. task queue -----------------------------------------------------------------------
def test_a_moving_queue_is_ok() -> None:
    TaskFactory(state=TaskState.PENDING)
    done_task()

    outcome = QueueCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.OK
    assert outcome.result.evidence["counts"][TaskState.PENDING] == 1
    assert outcome.result.evidence["running_past_lease"] == 0


def test_running_tasks_past_their_lease_warn_with_their_ids() -> None:
    stuck = stuck_running(3)

    outcome = QueueCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.WARNING
    assert outcome.result.evidence["running_past_lease"] == 3
    assert outcome.result.evidence["running_past_lease_ids"] == [t.pk for t in stuck]


def test_many_stuck_tasks_are_critical() -> None:
    stuck_running(3)

    outcome = QueueCheck(STUCK_CRITICAL=3).measure(CheckContext.current())

    assert outcome.severity == Severity.CRITICAL


def test_blocked_tasks_whose_blocker_is_done_warn() -> None:
    blocked_on_done(2)
    running_blocker = TaskFactory(state=TaskState.RUNNING)
    TaskFactory(state=TaskState.BLOCKED, blocked_by=running_blocker)

    outcome = QueueCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.WARNING
    assert outcome.result.evidence["blocked_releasable"] == 2


def test_an_old_pending_task_and_approvals_are_reported() -> None:
    now = timezone.now()
    TaskFactory(state=TaskState.PENDING, created_at=now - timedelta(days=2))
    TaskFactory(state=TaskState.WAITING_APPROVAL)

    outcome = QueueCheck().measure(CheckContext(now=now))

    assert outcome.severity == Severity.CRITICAL
    assert outcome.result.evidence["oldest_pending_minutes"] == pytest.approx(2880, abs=1)
    assert outcome.result.evidence["waiting_approval"] == 1
    assert "approval" in outcome.result.message


# --- 4. error patterns -------------------------------------------------------------------
def test_no_errors_is_ok() -> None:
    done_task()

    outcome = ErrorPatternsCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.OK
    assert outcome.result.evidence["patterns"] == []


def test_recurring_errors_are_grouped_into_one_pattern() -> None:
    failures(12)
    failures(2, template="KeyError: 'user_{n}'")

    outcome = ErrorPatternsCheck().measure(CheckContext.current())

    patterns = outcome.result.evidence["patterns"]
    assert outcome.severity == Severity.WARNING
    assert [(p["text"], p["count"]) for p in patterns] == [
        ("Timeout after <n>s connecting to <ip>", 12),
        ("KeyError: '<str>'", 2),
    ]
    assert patterns[0]["source"] == "tasks"


def test_rare_errors_are_only_information() -> None:
    failures(2)

    outcome = ErrorPatternsCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.INFO


def test_errors_older_than_the_window_are_not_counted() -> None:
    for task in failures(12):
        task.finished_at = timezone.now() - timedelta(days=3)
        task.save(update_fields=["finished_at"])

    outcome = ErrorPatternsCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.OK


def quiet_for(tasks: list[Task], minutes: int) -> None:
    """Move a pattern's failures back in time: its newest is `minutes` old."""
    for position, task in enumerate(tasks):
        task.finished_at = timezone.now() - timedelta(minutes=minutes + position)
        task.save(update_fields=["finished_at"])


def test_a_frequent_pattern_that_went_quiet_is_not_recurring() -> None:
    quiet_for(failures(12), minutes=20)

    outcome = ErrorPatternsCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.INFO
    assert "none recurring (seen at least 10 times in 24 h and within the last 15 min)" in (
        outcome.result.message
    )
    assert "1 of them frequent but quiet now" in outcome.result.message
    evidence = outcome.result.evidence
    assert (evidence["recurring"], evidence["quiet"]) == (0, 1)
    assert evidence["patterns"][0]["recurring"] is False


def test_a_frequent_pattern_still_being_seen_recurs() -> None:
    quiet_for(failures(12), minutes=5)

    outcome = ErrorPatternsCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.WARNING
    assert outcome.result.evidence["patterns"][0]["recurring"] is True


# --- 5. completion rates -----------------------------------------------------------------
def test_work_that_mostly_succeeds_is_ok() -> None:
    for _ in range(20):
        done_task()
    failures(1)

    outcome = CompletionRateCheck().measure(CheckContext.current())

    evidence = outcome.result.evidence
    assert outcome.severity == Severity.OK
    assert evidence["last_hour"]["done"] == 20
    assert evidence["last_day"]["failed"] == 1


def test_most_of_the_last_hour_failing_is_critical() -> None:
    for _ in range(3):
        done_task()
    failures(10)

    outcome = CompletionRateCheck().measure(CheckContext.current())

    assert outcome.severity == Severity.CRITICAL
    assert outcome.result.evidence["last_hour"]["failure_rate"] == pytest.approx(10 / 13, 1e-3)


def test_a_day_failing_far_more_than_the_week_before_warns() -> None:
    now = timezone.now()
    for hours in range(2, 14):
        done_task(finished_at=now - timedelta(hours=hours))
    for task in failures(4):
        task.finished_at = now - timedelta(hours=3)
        task.save(update_fields=["finished_at"])
    for days in range(2, 8):
        done_task(finished_at=now - timedelta(days=days))

    outcome = CompletionRateCheck().measure(CheckContext(now=now))

    evidence = outcome.result.evidence
    assert outcome.severity == Severity.WARNING
    assert evidence["last_day"] == {"done": 12, "failed": 4, "failure_rate": 0.25}
    assert evidence["week_before"]["done"] == 6


# --- 6. resources ------------------------------------------------------------------------
def test_resources_within_limits_are_ok(tmp_path: object) -> None:
    check = ResourcesCheck(
        log_paths=[str(tmp_path)],
        LOAD_PER_CPU_WARNING=1e9,
        LOAD_PER_CPU_CRITICAL=1e9,
        MEMORY_WARNING_PERCENT=101.0,
        MEMORY_CRITICAL_PERCENT=101.0,
        DISK_WARNING_PERCENT=101.0,
        DISK_CRITICAL_PERCENT=101.0,
    )
    outcome = check.measure(CheckContext.current())

    evidence = outcome.result.evidence
    assert outcome.severity == Severity.OK
    assert evidence["cpu_count"] >= 1
    assert 0 <= evidence["memory_percent"] <= 100
    assert f"logs:{tmp_path}" in evidence["disks"]
    assert "database" in evidence["disks"] or "database_bytes" in evidence


def test_resources_past_their_limits_are_critical(tmp_path: object) -> None:
    check = ResourcesCheck(log_paths=[str(tmp_path)], DISK_CRITICAL_PERCENT=0.0)

    outcome = check.measure(CheckContext.current())

    assert outcome.severity == Severity.CRITICAL
    assert "full" in outcome.result.message


def test_an_unreadable_log_path_warns() -> None:
    check = ResourcesCheck(log_paths=["/nonexistent/selfheal/logs"], DISK_WARNING_PERCENT=101.0)

    outcome = check.measure(CheckContext.current())

    assert outcome.severity in (Severity.WARNING, Severity.CRITICAL)
    assert "cannot read /nonexistent/selfheal/logs" in outcome.result.message


def test_an_unknown_threshold_is_refused() -> None:
    with pytest.raises(TypeError):
        QueueCheck(NOT_A_THRESHOLD=1)
