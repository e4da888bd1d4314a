from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from engine.models import Task, TaskState, Worker, WorkerState, hash_token
from engine.services import (
    RegisteredWorker,
    TaskRouter,
    cancel_task,
    create_task,
    register_worker,
)
from tests.factories import TaskFactory, api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user: Any) -> APIClient:
    return api_client_for(user)


def client_for(registered: RegisteredWorker) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {registered.token}")
    return client


@pytest.fixture
def echo() -> RegisteredWorker:
    """An operator's worker, shared: it claims everyone's tasks."""
    return register_worker(name="echo-1", capabilities=["echo"], max_concurrency=2, shared=True)


@pytest.fixture
def echo_api(echo: RegisteredWorker) -> APIClient:
    return client_for(echo)


def running_task(worker: Worker, **fields: Any) -> Task:
    task = create_task(title="t", kind="echo", **fields).task
    claimed = TaskRouter().claim(worker)
    assert claimed is not None and claimed.pk == task.pk
    return claimed


# --- Register and list ----------------------------------------------------------------------


def test_register_returns_the_worker_and_its_token_once(api: APIClient, user: Any) -> None:
    response = api.post(
        "/api/workers/",
        {"name": "gpu-1", "capabilities": ["agent", "echo", "agent"], "max_concurrency": 4},
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response.data["created"] is True
    token = response.data["token"]
    assert token.startswith("jgw_")
    worker = Worker.objects.get(pk=response.data["worker"]["id"])
    assert worker.name == "gpu-1"
    assert worker.capabilities == ["agent", "echo"]
    assert worker.max_concurrency == 4
    assert worker.registered_by == user
    assert worker.token_hash == hash_token(token)
    assert response.data["worker"]["state"] == "online"
    worker_api = APIClient()
    worker_api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert worker_api.post(f"/api/workers/{worker.pk}/heartbeat/").status_code == 200


def test_registering_ones_own_worker_again_replaces_its_token(api: APIClient, user: Any) -> None:
    mine = register_worker(name="mine-1", capabilities=["echo"], registered_by=user)

    response = api.post(
        "/api/workers/", {"name": "mine-1", "capabilities": ["echo"]}, format="json"
    )

    assert response.status_code == 200
    assert response.data["created"] is False
    assert response.data["worker"]["id"] == mine.worker.pk
    assert client_for(mine).post(f"/api/workers/{mine.worker.pk}/heartbeat/").status_code == 401
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    assert fresh.post(f"/api/workers/{mine.worker.pk}/heartbeat/").status_code == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "capabilities"}),
        ({"name": "w", "capabilities": "echo"}, {"capabilities"}),
        ({"name": "w", "capabilities": {"echo": True}}, {"capabilities"}),
        ({"name": "w", "capabilities": []}, {"capabilities"}),
        ({"name": "w", "capabilities": [{"kind": "echo"}]}, {"capabilities"}),
        ({"name": "w", "capabilities": ["k" * 101]}, {"capabilities"}),
        ({"name": "w", "capabilities": ["echo"], "max_concurrency": 0}, {"max_concurrency"}),
        ({"name": "w", "capabilities": ["echo"], "max_concurrency": "x"}, {"max_concurrency"}),
        ({"name": "w" * 101, "capabilities": ["echo"]}, {"name"}),
        ({"name": "", "capabilities": ["echo"]}, {"name"}),
    ],
)
def test_register_refuses_bad_input_naming_the_fields(
    api: APIClient, body: dict[str, Any], fields: set[str]
) -> None:
    response = api.post("/api/workers/", body, format="json")

    assert response.status_code == 400
    assert set(response.data) == fields
    assert not Worker.objects.exists()


def test_list_workers(api: APIClient, echo: RegisteredWorker) -> None:
    register_worker(name="agent-1", capabilities=["agent"])

    response = api.get("/api/workers/")

    assert response.status_code == 200
    assert [row["name"] for row in response.data["results"]] == ["agent-1", "echo-1"]
    assert "token" not in response.data["results"][0]
    assert "token_hash" not in response.data["results"][0]


def test_worker_tokens_may_not_register_or_list(echo_api: APIClient) -> None:
    body = {"name": "rogue", "capabilities": ["echo"]}

    assert echo_api.get("/api/workers/").status_code == 403
    assert echo_api.post("/api/workers/", body, format="json").status_code == 403
    assert not Worker.objects.filter(name="rogue").exists()


# --- Only the worker's own token ----------------------------------------------------------


@pytest.mark.parametrize("action", ["heartbeat", "claim", "tasks/1/complete", "tasks/1/fail"])
def test_worker_endpoints_refuse_other_principals(
    api: APIClient, echo: RegisteredWorker, action: str
) -> None:
    other = client_for(register_worker(name="other", capabilities=["echo"]))
    url = f"/api/workers/{echo.worker.pk}/{action}/"
    invalid = APIClient()
    invalid.credentials(HTTP_AUTHORIZATION="Token jgw_not-a-real-token")

    assert other.post(url, {"error": "x"}, format="json").status_code == 403
    assert api.post(url, {"error": "x"}, format="json").status_code == 403
    assert APIClient().post(url, {"error": "x"}, format="json").status_code == 401
    assert invalid.post(url, {"error": "x"}, format="json").status_code == 401


def test_a_worker_token_cannot_act_for_an_unknown_worker(echo_api: APIClient) -> None:
    assert echo_api.post("/api/workers/987654/claim/").status_code == 403


# --- Heartbeat and claim ------------------------------------------------------------------


def test_heartbeat_extends_the_leases_held(echo: RegisteredWorker, echo_api: APIClient) -> None:
    task = running_task(echo.worker)
    Worker.objects.filter(pk=echo.worker.pk).update(
        last_heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    before = timezone.now()

    response = echo_api.post(f"/api/workers/{echo.worker.pk}/heartbeat/")

    assert response.status_code == 200
    assert response.data["worker_state"] == "online"
    assert response.data["leases_extended"] == 1
    task.refresh_from_db()
    echo.worker.refresh_from_db()
    assert echo.worker.last_heartbeat_at is not None and echo.worker.last_heartbeat_at >= before
    assert task.lease_expires_at is not None and task.lease_expires_at >= before


def test_claim_hands_out_a_task_under_a_lease(echo: RegisteredWorker, echo_api: APIClient) -> None:
    task = create_task(title="t", kind="echo", payload={"text": "hi"}).task

    response = echo_api.post(f"/api/workers/{echo.worker.pk}/claim/")

    assert response.status_code == 200
    assert response.data["id"] == task.pk
    assert response.data["payload"] == {"text": "hi"}
    assert response.data["state"] == "running"
    assert response.data["lease_worker"] == echo.worker.pk
    assert response.data["attempts"] == 1
    task.refresh_from_db()
    assert task.state == TaskState.RUNNING and task.lease_worker_id == echo.worker.pk


def test_claim_with_nothing_to_do_is_204(echo: RegisteredWorker, echo_api: APIClient) -> None:
    create_task(title="t", kind="agent")

    response = echo_api.post(f"/api/workers/{echo.worker.pk}/claim/")

    assert response.status_code == 204
    assert not response.content


@pytest.mark.parametrize("state", [WorkerState.DRAINING, WorkerState.OFFLINE])
def test_unavailable_worker_claims_nothing(
    echo: RegisteredWorker, echo_api: APIClient, state: WorkerState
) -> None:
    task = create_task(title="t", kind="echo").task
    Worker.objects.filter(pk=echo.worker.pk).update(state=state)

    response = echo_api.post(f"/api/workers/{echo.worker.pk}/claim/")

    assert response.status_code == 409
    assert response.data["code"] == "worker_unavailable"
    task.refresh_from_db()
    assert task.state == TaskState.PENDING


# --- Complete and fail --------------------------------------------------------------------


@pytest.mark.parametrize("result", [{"answer": 42}, ["a", 1], "text", 3.5, None])
def test_complete_stores_any_json_result(
    echo: RegisteredWorker, echo_api: APIClient, result: Any
) -> None:
    task = running_task(echo.worker)

    response = echo_api.post(
        f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/complete/",
        {"result": result},
        format="json",
    )

    assert response.status_code == 200, response.data
    assert response.data["state"] == "done"
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert task.result == result
    assert task.lease_worker is None


def test_complete_without_a_body_stores_no_result(
    echo: RegisteredWorker, echo_api: APIClient
) -> None:
    task = running_task(echo.worker)

    response = echo_api.post(f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/complete/")

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.result is None


def test_complete_refuses_a_result_no_database_can_store(
    echo: RegisteredWorker, echo_api: APIClient
) -> None:
    task = running_task(echo.worker)

    response = echo_api.post(
        f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/complete/",
        {"result": {"log": "\x00"}},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.data) == {"result"}
    task.refresh_from_db()
    assert task.state == TaskState.RUNNING


def test_completing_a_task_held_by_another_worker_is_409_and_changes_nothing(
    echo: RegisteredWorker, echo_api: APIClient
) -> None:
    other = register_worker(name="other", capabilities=["echo"], shared=True).worker
    task = running_task(other)

    response = echo_api.post(
        f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/complete/", {"result": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.data["code"] == "lease_conflict"
    task.refresh_from_db()
    assert task.state == TaskState.RUNNING
    assert task.lease_worker_id == other.pk
    assert task.result is None


def test_completing_a_task_cancelled_meanwhile_is_409(
    echo: RegisteredWorker, echo_api: APIClient
) -> None:
    task = running_task(echo.worker)
    cancel_task(task_id=task.pk, actor="user:olga")

    response = echo_api.post(
        f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/complete/", {"result": 1}, format="json"
    )

    assert response.status_code == 409
    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    assert task.result is None


@pytest.mark.parametrize("action", ["complete", "fail"])
def test_unknown_task_is_404(echo: RegisteredWorker, echo_api: APIClient, action: str) -> None:
    for task_id in (987654, 10**30):
        response = echo_api.post(
            f"/api/workers/{echo.worker.pk}/tasks/{task_id}/{action}/",
            {"error": "x"},
            format="json",
        )
        assert response.status_code == 404


def test_retryable_failure_goes_back_to_pending_with_a_backoff(
    echo: RegisteredWorker, echo_api: APIClient
) -> None:
    task = running_task(echo.worker, max_attempts=3)

    response = echo_api.post(
        f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/fail/", {"error": "boom"}, format="json"
    )

    assert response.status_code == 200, response.data
    assert response.data["state"] == "pending"
    task.refresh_from_db()
    assert task.state == TaskState.PENDING
    assert task.last_error == "boom"
    assert task.run_after > timezone.now()
    assert task.lease_worker is None


def test_non_retryable_failure_fails_for_good(echo: RegisteredWorker, echo_api: APIClient) -> None:
    task = running_task(echo.worker, max_attempts=3)

    response = echo_api.post(
        f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/fail/",
        {"error": "bad input", "retryable": False},
        format="json",
    )

    assert response.status_code == 200
    assert response.data["state"] == "failed"
    task.refresh_from_db()
    assert task.state == TaskState.FAILED and task.last_error == "bad input"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"error"}),
        ({"error": ""}, {"error"}),
        ({"error": "e" * 20001}, {"error"}),
        ({"error": "x", "retryable": "maybe"}, {"retryable"}),
    ],
)
def test_fail_refuses_bad_input(
    echo: RegisteredWorker, echo_api: APIClient, body: dict[str, Any], fields: set[str]
) -> None:
    task = running_task(echo.worker)

    response = echo_api.post(
        f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/fail/", body, format="json"
    )

    assert response.status_code == 400
    assert set(response.data) == fields
    task.refresh_from_db()
    assert task.state == TaskState.RUNNING


def test_failing_a_task_not_held_is_409_and_changes_nothing(
    echo: RegisteredWorker, echo_api: APIClient
) -> None:
    task = TaskFactory(state=TaskState.PENDING)

    response = echo_api.post(
        f"/api/workers/{echo.worker.pk}/tasks/{task.pk}/fail/", {"error": "x"}, format="json"
    )

    assert response.status_code == 409
    task.refresh_from_db()
    assert task.state == TaskState.PENDING
    assert task.last_error == ""


def test_the_worker_loop_end_to_end(api: APIClient) -> None:
    registered = api.post(
        "/api/workers/", {"name": "loop", "capabilities": ["echo"]}, format="json"
    ).data
    worker_api = APIClient()
    worker_api.credentials(HTTP_AUTHORIZATION=f"Token {registered['token']}")
    base = f"/api/workers/{registered['worker']['id']}"
    created = api.post("/api/tasks/", {"title": "t", "kind": "echo"}, format="json").data

    claimed = worker_api.post(f"{base}/claim/").data
    worker_api.post(f"{base}/heartbeat/")
    worker_api.post(f"{base}/tasks/{claimed['id']}/complete/", {"result": "ok"}, format="json")
    detail = api.get(f"/api/tasks/{created['id']}/").data

    assert claimed["id"] == created["id"]
    assert detail["state"] == "done" and detail["result"] == "ok"
    assert [(row["to_state"], row["actor"]) for row in detail["history"]] == [
        ("pending", "user:alice"),
        ("running", "worker:loop"),
        ("done", "worker:loop"),
    ]


def test_registering_the_name_of_a_builtin_worker_is_refused(staff) -> None:
    from engine.services import ensure_builtin_worker

    builtin = ensure_builtin_worker(name="builtin", capabilities=["echo"], max_concurrency=1)
    client = APIClient()
    client.force_authenticate(staff)

    response = client.post(
        "/api/workers/", {"name": "builtin", "capabilities": ["echo"]}, format="json"
    )

    assert response.status_code == 409
    builtin.refresh_from_db()
    assert builtin.builtin and builtin.token_hash is None
