"""A worker process killed mid-task: the lease runs out, the task runs again elsewhere."""

from __future__ import annotations

import signal
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from engine.models import Task, TaskState
from engine.services import StuckTaskDetector, create_task
from tests.engine.test_concurrent_claims import logs, processes, start_worker, wait_for

__all__ = ["processes"]  # the fixture, shared with the concurrent-claims test

LEASE_SECONDS = "5"


def state_of(task: Task) -> str:
    return Task.objects.values_list("state", flat=True).get(pk=task.pk)


@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_task_is_requeued_and_done_once(
    processes: list[subprocess.Popen[bytes]], tmp_path: Path, settings: Any
) -> None:
    settings.ENGINE_RETRY_BASE_SECONDS = 0  # the retry may start at once
    task = create_task(title="long", kind="sleep", payload={"seconds": 120}).task
    first = start_worker(
        "doomed", tmp_path, "--capabilities", "sleep", ENGINE_LEASE_SECONDS=LEASE_SECONDS
    )
    processes.append(first)
    wait_for(
        lambda: state_of(task) == TaskState.RUNNING,
        seconds=60,
        what="the first worker to start the task",
        log_dir=tmp_path,
        running=[first],
    )

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    # The second attempt need not sleep two minutes to prove the point.
    Task.objects.filter(pk=task.pk).update(payload={"seconds": 0.1})
    # Instead of waiting out the lease, look at the queue as it will be in a while.
    report = StuckTaskDetector(now=timezone.now() + timedelta(seconds=30)).run()

    assert report.leases_expired == [task.pk]
    assert state_of(task) == TaskState.PENDING
    second = start_worker("rescuer", tmp_path, "--capabilities", "sleep")
    processes.append(second)
    wait_for(
        lambda: state_of(task) == TaskState.DONE,
        seconds=60,
        what="the second worker to finish the task",
        log_dir=tmp_path,
        running=[second],
    )
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0, logs(tmp_path)

    task.refresh_from_db()
    assert task.attempts == 2
    assert task.result == {"slept": 0.1}
    assert task.last_error == "lease held by doomed expired"
    assert list(task.events.values_list("from_state", "to_state", "actor")) == [
        ("", "pending", "system:user"),
        ("pending", "running", "worker:doomed"),
        ("running", "pending", "system:stuck-detector"),
        ("pending", "running", "worker:rescuer"),
        ("running", "done", "worker:rescuer"),
    ]
