from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from engine import jobs
from engine.models import Task, TaskState
from engine.services import StuckTaskDetector, TaskRouter, create_task, job_lock
from tests.factories import WorkerFactory

pytestmark = pytest.mark.django_db


def running_task_with_expired_lease() -> Task:
    worker = WorkerFactory(capabilities=["echo"])
    created = create_task(title="stuck", kind="echo").task
    task = TaskRouter().claim(worker)
    assert task is not None and task.pk == created.pk
    Task.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    return task


def test_detect_stuck_tasks_requeues_an_expired_lease() -> None:
    task = running_task_with_expired_lease()

    report = jobs.detect_stuck_tasks()

    assert report == {"workers_offline": [], "leases_expired": [task.pk], "timed_out": []}
    assert Task.objects.get(pk=task.pk).state == TaskState.PENDING


def test_apply_unblock_rules_job_unblocks_a_task_whose_blocker_is_done() -> None:
    blocker = create_task(title="first", kind="echo").task
    blocked = create_task(title="second", kind="echo", blocked_by=blocker).task
    Task.objects.filter(pk=blocker.pk).update(state=TaskState.DONE)

    report = jobs.apply_unblock_rules_job()

    assert report == {"unblocked": [blocked.pk], "sent_for_approval": []}


def test_a_job_whose_lock_is_held_is_skipped_and_runs_once_it_is_free() -> None:
    task = running_task_with_expired_lease()

    with job_lock(jobs.DETECT_STUCK_LOCK, ttl_seconds=60) as acquired:
        assert acquired
        report = jobs.detect_stuck_tasks()
        assert report == {"skipped": "another run holds the engine.detect_stuck_tasks lock"}
        assert Task.objects.get(pk=task.pk).state == TaskState.RUNNING

    assert jobs.detect_stuck_tasks()["leases_expired"] == [task.pk]


@pytest.mark.django_db(transaction=True)
def test_a_second_concurrent_run_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    inside, release = threading.Event(), threading.Event()
    original = StuckTaskDetector.run
    results: list[dict[str, Any]] = []

    def slow_run(self: StuckTaskDetector) -> Any:
        inside.set()
        release.wait(10)
        return original(self)

    monkeypatch.setattr(StuckTaskDetector, "run", slow_run)
    first = threading.Thread(target=lambda: results.append(jobs.detect_stuck_tasks()))
    first.start()
    try:
        assert inside.wait(10)
        second = jobs.detect_stuck_tasks()
    finally:
        release.set()
        first.join()

    assert "skipped" in second
    assert results == [{"workers_offline": [], "leases_expired": [], "timed_out": []}]
