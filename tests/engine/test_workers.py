from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from engine.models import ApiToken, Task, TaskState, Worker, WorkerState
from engine.services import (
    LeaseConflict,
    TaskRouter,
    complete_task,
    create_api_token,
    create_task,
    revoke_api_tokens,
    set_worker_state,
)
from engine.signals import api_tokens_revoked
from tests.factories import UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def running_on(worker: Worker, *, max_attempts: int = 3) -> Task:
    create_task(title="t", kind="echo", max_attempts=max_attempts)
    task = TaskRouter().claim(worker)
    assert task is not None
    return task


def test_marking_a_worker_offline_ends_its_running_tasks_at_once() -> None:
    worker = WorkerFactory(max_concurrency=2)
    first, second = running_on(worker), running_on(worker)
    other_worker = WorkerFactory()
    elsewhere = running_on(other_worker)

    change = set_worker_state(worker=worker, state=WorkerState.OFFLINE, actor="user:olga")

    assert change.ended_task_ids == [first.pk, second.pk]
    worker.refresh_from_db()
    assert worker.state == WorkerState.OFFLINE
    for task in (first, second):
        task.refresh_from_db()
        assert task.state == TaskState.PENDING, "its lease has not expired, yet it is free"
        assert task.lease_worker is None and task.lease_expires_at is None
        assert "marked offline by user:olga" in task.last_error
        event = task.events.order_by("id").last()
        assert event is not None
        assert (event.from_state, event.to_state, event.actor) == (
            TaskState.RUNNING,
            TaskState.PENDING,
            "user:olga",
        )
    elsewhere.refresh_from_db()
    assert elsewhere.state == TaskState.RUNNING, "another worker's task is not touched"


def test_a_task_on_its_last_attempt_fails_when_its_worker_is_marked_offline() -> None:
    worker = WorkerFactory()
    task = running_on(worker, max_attempts=1)

    set_worker_state(worker=worker, state=WorkerState.OFFLINE, actor="user:olga")

    task.refresh_from_db()
    assert task.state == TaskState.FAILED


def test_the_worker_that_was_marked_offline_can_no_longer_complete_the_task() -> None:
    worker = WorkerFactory()
    task = running_on(worker)
    set_worker_state(worker=worker, state=WorkerState.OFFLINE, actor="user:olga")

    with pytest.raises(LeaseConflict):
        complete_task(worker=worker, task_id=task.pk, result="late")


def test_a_worker_stopping_itself_is_the_actor_by_default() -> None:
    worker = WorkerFactory()
    task = running_on(worker)

    set_worker_state(worker=worker, state=WorkerState.OFFLINE)

    event = task.events.order_by("id").last()
    assert event is not None and event.actor == f"worker:{worker.name}"


@pytest.mark.parametrize("state", [WorkerState.DRAINING, WorkerState.ONLINE])
def test_other_states_leave_running_tasks_with_the_worker(state: WorkerState) -> None:
    worker = WorkerFactory()
    task = running_on(worker)

    change = set_worker_state(worker=worker, state=state, actor="user:olga")

    assert change.ended_task_ids == []
    task.refresh_from_db()
    assert task.state == TaskState.RUNNING and task.lease_worker == worker


def test_revoking_tokens_stops_them_working_and_counts_only_live_ones(user: Any) -> None:
    live, live_token = create_api_token(user=user, name="laptop")
    already, _ = create_api_token(user=user, name="old")
    ApiToken.objects.filter(pk=already.pk).update(revoked=True)
    _, kept_token = create_api_token(user=UserFactory(), name="ci")

    revoked = revoke_api_tokens(token_ids=[live.pk, already.pk])

    assert revoked == 1
    assert set(ApiToken.objects.filter(revoked=True).values_list("pk", flat=True)) == {
        live.pk,
        already.pk,
    }
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {live_token}")
    assert client.get("/api/tasks/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {kept_token}")
    assert client.get("/api/tasks/").status_code == 200


def test_a_revocation_tells_listeners_whose_tokens_went_once_it_commits(
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner, other = UserFactory(), UserFactory()
    first, _ = create_api_token(user=owner)
    second, _ = create_api_token(user=owner)
    already, _ = create_api_token(user=other)
    ApiToken.objects.filter(pk=already.pk).update(revoked=True)
    heard: list[list[int]] = []

    def listener(sender: Any, user_ids: list[int], **kwargs: Any) -> None:
        heard.append(list(user_ids))

    api_tokens_revoked.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as pending:
            revoke_api_tokens(token_ids=[first.pk, second.pk, already.pk])
        assert heard == [], "not before the revocation commits"
        for callback in pending:
            callback()
    finally:
        api_tokens_revoked.disconnect(listener)

    assert heard == [[owner.pk]]
