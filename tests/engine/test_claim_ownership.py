"""Another user's chat run on my worker (issue 14, High 2), written as the plain user would
try it, and the rule for every task source (docs/security.md, "Who may claim what"): a
built-in or shared worker claims any task; any other worker only its owner's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from engine.models import Task, TaskSource, TaskState, Worker
from engine.services import (
    TaskRouter,
    apply_unblock_rules,
    approve_task,
    create_task,
    ensure_builtin_worker,
    request_approval,
)
from engine.services.router import claim_sql
from tests.factories import WorkerFactory, api_client_for

pytestmark = pytest.mark.django_db


def admins_chat_run(staff: Any) -> Task:
    return create_task(
        title="Chat #1: the payroll question",
        kind="agent",
        payload={"session": 1, "secret": "admin's conversation"},
        source=TaskSource.CHAT,
        source_ref="chat:1",
        created_by=staff,
    ).task


def registered_by_rest(user: Any, capabilities: list[str]) -> tuple[APIClient, int]:
    """What the plain user does: register a worker of their own and take its token."""
    answer = api_client_for(user).post(
        "/api/workers/", {"name": "my-box", "capabilities": capabilities}, format="json"
    )
    assert answer.status_code == 201, answer.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client, answer.json()["worker"]["id"]


def test_my_worker_does_not_claim_another_users_chat_run(user: Any, staff: Any) -> None:
    run = admins_chat_run(staff)
    worker_api, worker_id = registered_by_rest(user, ["agent"])
    # The built-in worker is busy (or there is none): the plain user's worker asks.

    response = worker_api.post(f"/api/workers/{worker_id}/claim/")

    assert response.status_code == 204
    assert b"payroll" not in response.content and b"secret" not in response.content
    run.refresh_from_db()
    assert run.state == TaskState.PENDING and run.lease_worker is None
    forged = worker_api.post(
        f"/api/workers/{worker_id}/tasks/{run.pk}/complete/", {"result": "x"}, format="json"
    )
    assert forged.status_code == 409
    run.refresh_from_db()
    assert run.state == TaskState.PENDING and run.result is None


@pytest.mark.parametrize(
    "source", [TaskSource.USER, TaskSource.LOGCRAWLER, TaskSource.SELFHEAL, TaskSource.ENGINE]
)
def test_my_worker_claims_neither_others_tasks_nor_the_systems(
    user: Any, staff: Any, source: TaskSource
) -> None:
    by_admin = create_task(title="admin's", kind="echo", source=source, created_by=staff).task
    by_system = create_task(title="system's", kind="echo", source=source).task
    worker_api, worker_id = registered_by_rest(user, ["echo"])

    assert worker_api.post(f"/api/workers/{worker_id}/claim/").status_code == 204
    assert set(Task.objects.filter(pk__in=[by_admin.pk, by_system.pk]).values_list("state")) == {
        (TaskState.PENDING,)
    }


def test_my_worker_claims_my_own_tasks_of_every_source(user: Any) -> None:
    mine = [
        create_task(title="api", kind="agent", created_by=user).task,
        create_task(title="chat", kind="agent", source=TaskSource.CHAT, created_by=user).task,
    ]
    worker_api, worker_id = registered_by_rest(user, ["agent"])
    Worker.objects.filter(pk=worker_id).update(max_concurrency=2)

    claimed = [worker_api.post(f"/api/workers/{worker_id}/claim/").json()["id"] for _ in mine]

    assert sorted(claimed) == sorted(task.pk for task in mine)


def test_built_in_and_shared_workers_claim_everyones_tasks(user: Any, staff: Any) -> None:
    run = admins_chat_run(staff)
    system = create_task(title="alert", kind="agent", source=TaskSource.LOGCRAWLER).task
    builtin = ensure_builtin_worker(name="local", capabilities=["agent"], max_concurrency=1)
    shared = WorkerFactory(capabilities=["agent"], shared=True, registered_by=user)
    router = TaskRouter()

    claimed = {router.claim(builtin), router.claim(shared)}

    assert {task.pk for task in claimed if task} == {run.pk, system.pk}


def test_an_approved_call_is_claimed_by_the_same_rule(user: Any, staff: Any) -> None:
    """An approval task (a dangerous tool call of admin's agent) stays admin's once approved:
    the approver does not make it anyone else's."""
    approval = admins_chat_run(staff)
    request_approval(task_id=approval.pk, reason="dangerous tool", actor="system:chat-1")
    approve_task(task_id=approval.pk, user=staff)
    mine = WorkerFactory(capabilities=["agent"], shared=False, registered_by=user)

    assert TaskRouter().claim(mine) is None


def test_a_worker_with_no_owner_that_is_not_shared_claims_nothing() -> None:
    create_task(title="t", kind="echo")
    orphan = WorkerFactory(capabilities=["echo"], shared=False, registered_by=None)

    with CaptureQueriesContext(connection) as queries:
        assert TaskRouter().claim(orphan) is None
    assert not queries.captured_queries


def test_the_ownership_rule_is_part_of_the_one_claim_query(user: Any, staff: Any) -> None:
    """No extra query: on PostgreSQL the claim stays one statement, on SQLite the rule is a
    condition of the candidate's SELECT and the claim asks what it asked before."""
    for n in range(3):
        create_task(title=f"admin's {n}", kind="echo", created_by=staff, priority=90)
    mine = create_task(title="mine", kind="echo", created_by=user).task
    own = WorkerFactory(capabilities=["echo"], shared=False, registered_by=user)
    other = create_task(title="other", kind="sleep").task
    shared = WorkerFactory(capabilities=["sleep"], shared=True)

    with CaptureQueriesContext(connection) as owned_queries:
        assert TaskRouter().claim(own) == mine
    with CaptureQueriesContext(connection) as shared_queries:
        assert TaskRouter().claim(shared) == other

    statements = [q["sql"] or "" for q in owned_queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1
        # A prepared statement is logged without its text: the statement is this one.
        sql = claim_sql(1, owner_only=True)
        assert "FOR UPDATE SKIP LOCKED" in sql and "created_by_id = %(owner)s" in sql
    else:
        assert len(statements) == len(shared_queries.captured_queries)
        assert any("created_by_id" in sql and "SELECT" in sql for sql in statements)


def test_a_task_only_others_workers_could_run_goes_to_a_human(user: Any) -> None:
    """The unroutable rule asks the claim's question: can any online worker claim it?"""
    WorkerFactory(capabilities=["render"], shared=False, registered_by=user)
    past = timezone.now() - timedelta(hours=1)
    system = create_task(title="system's", kind="render").task
    mine = create_task(title="mine", kind="render", created_by=user).task
    Task.objects.filter(pk__in=[system.pk, mine.pk]).update(run_after=past)

    report = apply_unblock_rules(unroutable_after_seconds=60)

    assert report.sent_for_approval == [system.pk]
    mine.refresh_from_db()
    assert mine.state == TaskState.PENDING
