from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from engine.models import Task, TaskState, WorkerState
from engine.services import (
    LeaseConflict,
    StuckTaskDetector,
    TaskRouter,
    cancel_task,
    complete_task,
    create_task,
    fail_task,
    heartbeat,
    holds_lease,
    release_task,
    retry_delay,
    retry_task,
)
from engine.services.history import system_actor
from tests.factories import TaskFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def _claimed(worker=None, **task_fields):
    worker = worker or WorkerFactory()
    task = create_task(title="t", kind="echo", **task_fields).task
    claimed = TaskRouter().claim(worker)
    assert claimed is not None and claimed.pk == task.pk
    return worker, claimed


def test_heartbeat_extends_the_leases_the_worker_holds() -> None:
    worker, task = _claimed()
    later = timezone.now() + timedelta(seconds=30)

    with time_machine.travel(later, tick=False):
        beat = heartbeat(worker=worker)

    task.refresh_from_db()
    assert beat.leases_extended == 1
    assert task.lease_expires_at == beat.lease_expires_at
    assert task.lease_expires_at > later


def test_heartbeat_brings_an_offline_worker_back_online() -> None:
    worker = WorkerFactory(state=WorkerState.OFFLINE)
    assert heartbeat(worker=worker).worker_state == WorkerState.ONLINE


def test_complete_stores_result_and_ends_the_lease() -> None:
    worker, task = _claimed()

    done = complete_task(worker=worker, task_id=task.pk, result={"ok": 1})

    assert done.state == TaskState.DONE
    assert done.result == {"ok": 1}
    assert done.lease_worker is None
    assert done.finished_at is not None


def test_completing_a_task_you_do_not_hold_changes_nothing() -> None:
    owner, task = _claimed()
    intruder = WorkerFactory()

    with pytest.raises(LeaseConflict):
        complete_task(worker=intruder, task_id=task.pk, result="stolen")

    task.refresh_from_db()
    assert task.state == TaskState.RUNNING
    assert task.lease_worker == owner
    assert task.result is None


def test_completing_after_a_cancel_is_a_conflict() -> None:
    worker, task = _claimed()
    cancel_task(task_id=task.pk, actor="user:alice")

    with pytest.raises(LeaseConflict):
        complete_task(worker=worker, task_id=task.pk)


@override_settings(ENGINE_RETRY_BASE_SECONDS=10, ENGINE_RETRY_MAX_SECONDS=25)
def test_retry_delay_doubles_and_is_capped() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 25, 25]


@override_settings(ENGINE_RETRY_BASE_SECONDS=10)
def test_failure_retries_with_backoff_then_fails_keeping_the_last_error() -> None:
    worker = WorkerFactory()
    task = create_task(title="t", kind="echo", max_attempts=2).task
    router = TaskRouter()

    router.claim(worker)
    before = timezone.now()
    after_first = fail_task(worker=worker, task_id=task.pk, error="first")
    assert after_first.state == TaskState.PENDING
    assert after_first.run_after >= before + timedelta(seconds=10)
    assert router.claim(worker) is None  # still backing off

    with time_machine.travel(timezone.now() + timedelta(seconds=11), tick=False):
        assert router.claim(worker) is not None
        final = fail_task(worker=worker, task_id=task.pk, error="second")

    assert final.state == TaskState.FAILED
    assert final.attempts == 2
    assert final.last_error == "second"


def test_non_retryable_failure_fails_at_once() -> None:
    worker, task = _claimed(max_attempts=5)
    failed = fail_task(worker=worker, task_id=task.pk, error="bad input", retryable=False)
    assert failed.state == TaskState.FAILED
    assert failed.attempts == 1


def test_release_hands_the_task_back_without_counting_the_attempt() -> None:
    worker, task = _claimed()

    released = release_task(worker=worker, task_id=task.pk)

    assert released.state == TaskState.PENDING
    assert released.attempts == 0
    assert released.lease_worker is None


def test_completing_a_blocker_unblocks_its_dependents() -> None:
    worker, blocker = _claimed()
    dependent = create_task(title="after", kind="echo", blocked_by=blocker).task
    assert dependent.state == TaskState.BLOCKED

    complete_task(worker=worker, task_id=blocker.pk)

    dependent.refresh_from_db()
    assert dependent.state == TaskState.PENDING


def test_a_cancelled_dependent_is_not_unblocked() -> None:
    worker, blocker = _claimed()
    cancelled = TaskFactory(state=TaskState.CANCELLED, blocked_by=blocker)

    complete_task(worker=worker, task_id=blocker.pk)

    cancelled.refresh_from_db()
    assert cancelled.state == TaskState.CANCELLED


def holds(worker: Any, claim: Task) -> bool:
    """Whether `worker` still holds the attempt `claim` (the task as its claim returned it)."""
    assert claim.started_at is not None
    return holds_lease(
        worker=worker, task_id=claim.pk, attempt=claim.attempts, started_at=claim.started_at
    )


def test_an_attempt_holds_its_lease_until_the_stuck_detector_gives_the_task_away() -> None:
    first, task = _claimed(max_attempts=3)
    assert holds(first, task) is True

    # The first worker's heartbeats stop; its lease runs out and the task is requeued.
    StuckTaskDetector(now=task.lease_expires_at + timedelta(seconds=1)).run()
    assert holds(first, task) is False

    Task.objects.filter(pk=task.pk).update(run_after=timezone.now() - timedelta(seconds=1))
    second = WorkerFactory()
    again = TaskRouter().claim(second)
    assert again is not None and again.pk == task.pk
    assert holds(second, again) is True
    assert holds(first, task) is False


def test_the_same_worker_claiming_its_task_again_is_a_later_attempt() -> None:
    worker, task = _claimed(max_attempts=3)
    StuckTaskDetector(now=task.lease_expires_at + timedelta(seconds=1)).run()
    Task.objects.filter(pk=task.pk).update(run_after=timezone.now() - timedelta(seconds=1))

    again = TaskRouter().claim(worker)

    assert again is not None and again.attempts == task.attempts + 1
    assert holds(worker, task) is False
    assert holds(worker, again) is True


def test_a_claim_after_cancel_and_retry_is_not_the_old_attempt_though_its_number_is() -> None:
    """A worker with two threads (one Worker row): thread 1 runs attempt 1; the task is
    cancelled and retried (the count starts again), and thread 2 claims it as attempt 1."""
    worker = WorkerFactory(capabilities=["agent"], max_concurrency=2)
    create_task(title="run", kind="agent")
    first = TaskRouter().claim(worker)
    assert first is not None and holds(worker, first)

    cancel_task(task_id=first.pk, actor=system_actor("operator"))
    assert not holds(worker, first)
    retry_task(task_id=first.pk, actor=system_actor("operator"))
    again = TaskRouter().claim(worker)

    assert again is not None and again.pk == first.pk and again.attempts == first.attempts
    assert holds(worker, again) is True
    assert holds(worker, first) is False, "the first thread's attempt is not the new one"


def _claimed_twice_by_one_worker() -> tuple[Any, Task, Task]:
    """A worker with two threads: thread 1 claims attempt 1; the task is cancelled and
    retried, and thread 2 claims it again, as attempt 1 once more but with a later start."""
    worker = WorkerFactory(capabilities=["agent"], max_concurrency=2)
    create_task(title="run", kind="agent")
    first = TaskRouter().claim(worker)
    assert first is not None
    cancel_task(task_id=first.pk, actor=system_actor("operator"))
    retry_task(task_id=first.pk, actor=system_actor("operator"))
    again = TaskRouter().claim(worker)
    assert again is not None and again.pk == first.pk
    return worker, first, again


@pytest.mark.parametrize(
    ("service", "arguments"),
    [
        (complete_task, {"result": {"from": "the old attempt"}}),
        (fail_task, {"error": "the old attempt failed"}),
        (release_task, {}),
    ],
)
def test_an_earlier_claim_cannot_settle_a_later_one(service: Any, arguments: dict) -> None:
    worker, first, again = _claimed_twice_by_one_worker()

    with pytest.raises(LeaseConflict, match="claimed again"):
        service(
            worker=worker,
            task_id=first.pk,
            attempt=first.attempts,
            started_at=first.started_at,
            **arguments,
        )

    task = Task.objects.get(pk=first.pk)
    assert (task.state, task.started_at, task.result, task.last_error) == (
        TaskState.RUNNING,
        again.started_at,
        None,
        "",
    )


def test_the_claim_that_holds_the_task_settles_it() -> None:
    worker, _, again = _claimed_twice_by_one_worker()

    done = complete_task(
        worker=worker,
        task_id=again.pk,
        result={"ok": True},
        attempt=again.attempts,
        started_at=again.started_at,
    )

    assert (done.state, done.result) == (TaskState.DONE, {"ok": True})
