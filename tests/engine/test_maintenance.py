from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from engine.models import TaskState, Worker, WorkerState
from engine.services import (
    StuckTaskDetector,
    TaskRouter,
    apply_unblock_rules,
    create_task,
    extend_task_timeout,
)
from tests.factories import TaskFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def _running(worker, **fields):
    create_task(title="t", kind="echo", **fields)
    task = TaskRouter().claim(worker)
    assert task is not None
    return task


def test_expired_lease_is_requeued() -> None:
    worker = WorkerFactory()
    task = _running(worker)
    later = task.lease_expires_at + timedelta(seconds=1)
    worker.last_heartbeat_at = later  # the worker is alive; only this lease lapsed
    worker.save()

    report = StuckTaskDetector(now=later).run()

    task.refresh_from_db()
    assert report.leases_expired == [task.pk]
    assert task.state == TaskState.PENDING
    assert "expired" in task.last_error


def test_expired_lease_on_the_last_attempt_fails_the_task() -> None:
    worker = WorkerFactory(last_heartbeat_at=timezone.now() + timedelta(hours=1))
    task = _running(worker, max_attempts=1)

    StuckTaskDetector(now=task.lease_expires_at + timedelta(seconds=1)).run()

    task.refresh_from_db()
    assert task.state == TaskState.FAILED


def test_silent_worker_goes_offline_and_its_tasks_are_released() -> None:
    worker = WorkerFactory()
    task = _running(worker)
    much_later = timezone.now() + timedelta(minutes=10)

    report = StuckTaskDetector(now=much_later, grace_seconds=90).run()

    worker.refresh_from_db()
    task.refresh_from_db()
    assert report.workers_offline == [worker.name]
    assert worker.state == WorkerState.OFFLINE
    assert task.state == TaskState.PENDING
    assert task.lease_worker is None


def test_healthy_worker_and_lease_are_left_alone() -> None:
    worker = WorkerFactory()
    task = _running(worker)

    report = StuckTaskDetector(now=timezone.now() + timedelta(seconds=5)).run()

    task.refresh_from_db()
    assert report.as_dict() == {"workers_offline": [], "leases_expired": [], "timed_out": []}
    assert task.state == TaskState.RUNNING


def _past_its_timeout_with_a_live_worker() -> tuple[Any, Any, Any]:
    """A 30 s task 31 s in, whose worker's heartbeats kept its lease alive."""
    worker = WorkerFactory()
    task = _running(worker, timeout_seconds=30)
    now = task.started_at + timedelta(seconds=31)
    worker.last_heartbeat_at = now
    worker.save()
    task.lease_expires_at = now + timedelta(minutes=5)
    task.save()
    return worker, task, now


def test_task_past_its_timeout_ends_its_attempt() -> None:
    _, task, now = _past_its_timeout_with_a_live_worker()

    report = StuckTaskDetector(now=now).run()

    task.refresh_from_db()
    assert report.timed_out == [task.pk]
    assert task.state == TaskState.PENDING
    assert "timed out after 30s" in task.last_error


def test_a_task_whose_timeout_was_extended_while_running_is_left_alone() -> None:
    worker, task, now = _past_its_timeout_with_a_live_worker()

    extend_task_timeout(task_id=task.pk, seconds=120)
    report = StuckTaskDetector(now=now).run()

    task.refresh_from_db()
    assert report.timed_out == []
    assert task.state == TaskState.RUNNING and task.lease_worker == worker


def test_blocked_task_returns_to_pending_when_its_blocker_is_done() -> None:
    blocker = TaskFactory(state=TaskState.DONE)
    blocked = TaskFactory(state=TaskState.BLOCKED, blocked_by=blocker)
    still_blocked = TaskFactory(state=TaskState.BLOCKED, blocked_by=TaskFactory())

    report = apply_unblock_rules()

    blocked.refresh_from_db()
    still_blocked.refresh_from_db()
    assert report.unblocked == [blocked.pk]
    assert blocked.state == TaskState.PENDING
    assert still_blocked.state == TaskState.BLOCKED


def test_task_blocked_by_a_failed_task_goes_to_a_human() -> None:
    blocker = TaskFactory(state=TaskState.FAILED)
    blocked = TaskFactory(state=TaskState.BLOCKED, blocked_by=blocker)

    apply_unblock_rules()

    blocked.refresh_from_db()
    assert blocked.state == TaskState.WAITING_APPROVAL
    assert f"#{blocker.pk}" in blocked.approval_reason


def test_pending_task_no_online_worker_can_run_waits_for_approval() -> None:
    WorkerFactory(capabilities=["echo"])
    WorkerFactory(capabilities=["deploy"], state=WorkerState.OFFLINE)
    long_ago = timezone.now() - timedelta(minutes=10)
    stranded = TaskFactory(kind="deploy", run_after=long_ago)
    routable = TaskFactory(kind="echo", run_after=long_ago)
    fresh = TaskFactory(kind="deploy")

    report = apply_unblock_rules(unroutable_after_seconds=300)

    assert report.sent_for_approval == [stranded.pk]
    stranded.refresh_from_db()
    assert stranded.approval_reason == "no worker with capability deploy"
    routable.refresh_from_db()
    fresh.refresh_from_db()
    assert routable.state == fresh.state == TaskState.PENDING


def test_a_worker_that_beat_after_the_list_was_read_stays_online() -> None:
    from engine.services import heartbeat

    worker = WorkerFactory(last_heartbeat_at=timezone.now() - timedelta(minutes=10))
    task = _running(worker)
    detector = StuckTaskDetector(now=timezone.now(), grace_seconds=90)
    original_filter = type(Worker.objects.all()).filter
    beat_once = []

    def filter_then_beat(self, *args, **kwargs):  # the heartbeat lands mid-run
        result = original_filter(self, *args, **kwargs)
        if not beat_once and self.model is Worker:
            beat_once.append(True)
            list(result)
            heartbeat(worker=worker)
        return result

    import unittest.mock

    with unittest.mock.patch.object(type(Worker.objects.all()), "filter", filter_then_beat):
        report = detector.run()

    worker.refresh_from_db()
    task.refresh_from_db()
    assert report.workers_offline == []
    assert worker.state == WorkerState.ONLINE
    assert task.state == TaskState.RUNNING


def test_ready_tasks_are_unblocked_even_behind_many_still_waiting() -> None:
    live_blocker = TaskFactory()
    for _ in range(5):
        TaskFactory(state=TaskState.BLOCKED, blocked_by=live_blocker)
    ready = TaskFactory(state=TaskState.BLOCKED, blocked_by=TaskFactory(state=TaskState.DONE))

    report = apply_unblock_rules(limit=3)

    assert report.unblocked == [ready.pk]
