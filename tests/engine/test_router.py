from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from engine.models import TaskState, WorkerState
from engine.services import TaskRouter, WorkerUnavailable, create_task
from tests.factories import TaskFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def test_claim_takes_highest_priority_then_oldest() -> None:
    worker = WorkerFactory(capabilities=["echo"])
    now = timezone.now()
    old_low = TaskFactory(priority=10, created_at=now - timedelta(hours=2))
    new_high = TaskFactory(priority=90, created_at=now)
    old_high = TaskFactory(priority=90, created_at=now - timedelta(hours=1))

    router = TaskRouter()
    worker.max_concurrency = 3
    claimed = [router.claim(worker) for _ in range(3)]

    assert [t.pk for t in claimed if t] == [old_high.pk, new_high.pk, old_low.pk]


def test_claim_only_hands_out_kinds_the_worker_can_do() -> None:
    worker = WorkerFactory(capabilities=["echo"])
    TaskFactory(kind="agent", priority=99)
    wanted = TaskFactory(kind="echo", priority=1)

    task = TaskRouter().claim(worker)

    assert task is not None and task.pk == wanted.pk
    assert task.state == TaskState.RUNNING
    assert task.lease_worker == worker
    assert task.attempts == 1
    assert task.lease_expires_at is not None and task.lease_expires_at > timezone.now()


def test_claim_respects_max_concurrency() -> None:
    worker = WorkerFactory(max_concurrency=1)
    TaskFactory.create_batch(2)
    router = TaskRouter()

    assert router.claim(worker) is not None
    assert router.claim(worker) is None


def test_claim_skips_tasks_in_backoff() -> None:
    worker = WorkerFactory()
    TaskFactory(run_after=timezone.now() + timedelta(minutes=5))

    assert TaskRouter().claim(worker) is None


def test_draining_worker_claims_nothing() -> None:
    worker = WorkerFactory(state=WorkerState.DRAINING)
    TaskFactory()

    with pytest.raises(WorkerUnavailable):
        TaskRouter().claim(worker)


def test_claim_writes_one_history_row() -> None:
    worker = WorkerFactory()
    created = create_task(title="t", kind="echo")

    TaskRouter().claim(worker)

    events = list(created.task.events.values_list("from_state", "to_state", "actor"))
    assert events == [
        ("", "pending", "system:user"),
        ("pending", "running", f"worker:{worker.name}"),
    ]
