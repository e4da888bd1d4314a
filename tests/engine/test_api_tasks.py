from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from engine.models import Task, TaskEvent, TaskSource, TaskState
from engine.services import (
    TaskRouter,
    create_task,
    register_worker,
    request_approval,
)
from tests.factories import TaskFactory, WorkerFactory, api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user: Any) -> APIClient:
    return api_client_for(user)


def waiting_task(**fields: Any) -> Task:
    task = create_task(title="deploy", kind="deploy", **fields).task
    return request_approval(task_id=task.pk, reason="touches prod", actor="system:test")


# --- Create -----------------------------------------------------------------------------


def test_create_task_as_the_user(api: APIClient, user: Any) -> None:
    response = api.post(
        "/api/tasks/",
        {"title": "Say hi", "kind": "echo", "payload": {"text": "hi"}, "priority": 70},
        format="json",
    )

    assert response.status_code == 201, response.data
    task = Task.objects.get(pk=response.data["id"])
    assert (task.title, task.kind, task.payload, task.priority) == (
        "Say hi",
        "echo",
        {"text": "hi"},
        70,
    )
    assert task.source == TaskSource.USER
    assert task.created_by == user
    assert response.data["created_by"] == "alice"
    assert response.data["state"] == "pending"
    assert list(task.events.values_list("to_state", "actor")) == [("pending", "user:alice")]


def test_create_applies_defaults(api: APIClient) -> None:
    response = api.post("/api/tasks/", {"title": "t", "kind": "echo"}, format="json")

    assert response.status_code == 201
    task = Task.objects.get(pk=response.data["id"])
    assert (task.payload, task.priority, task.max_attempts, task.timeout_seconds) == (
        {},
        50,
        3,
        300,
    )
    assert task.dedupe_key is None and task.blocked_by is None


def test_create_with_matching_dedupe_key_returns_the_unfinished_task(api: APIClient) -> None:
    body = {"title": "scan", "kind": "scan", "dedupe_key": "scan:repo"}
    first = api.post("/api/tasks/", body, format="json")

    second = api.post("/api/tasks/", {**body, "title": "scan again"}, format="json")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.data["id"] == first.data["id"]
    assert second.data["title"] == "scan"
    assert Task.objects.count() == 1


def test_dedupe_key_of_a_finished_task_does_not_stop_a_new_one(api: APIClient) -> None:
    TaskFactory(dedupe_key="scan:repo", state=TaskState.DONE)

    response = api.post(
        "/api/tasks/", {"title": "scan", "kind": "scan", "dedupe_key": "scan:repo"}, format="json"
    )

    assert response.status_code == 201
    assert Task.objects.count() == 2


def test_create_blocked_by_an_unfinished_task_starts_blocked(api: APIClient) -> None:
    blocker = TaskFactory()

    response = api.post(
        "/api/tasks/", {"title": "then", "kind": "echo", "blocked_by": blocker.pk}, format="json"
    )

    assert response.status_code == 201
    assert response.data["state"] == "blocked"
    assert response.data["blocked_by"] == blocker.pk


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"title", "kind"}),
        ({"title": "", "kind": "   "}, {"title", "kind"}),
        ({"title": "t", "kind": "echo", "payload": ["not", "an", "object"]}, {"payload"}),
        ({"title": "t", "kind": "echo", "payload": "text"}, {"payload"}),
        ({"title": "t", "kind": "echo", "payload": None}, {"payload"}),
        ({"title": "t", "kind": "echo", "payload": {"s": "nul\x00"}}, {"payload"}),
        ({"title": "t", "kind": "echo", "payload": {"nul\x00": 1}}, {"payload"}),
        ({"title": "t", "kind": "echo", "payload": nested(40)}, {"payload"}),
        ({"title": "t", "kind": "echo", "priority": "high"}, {"priority"}),
        ({"title": "t", "kind": "echo", "priority": 10**12}, {"priority"}),
        ({"title": "t", "kind": "echo", "priority": 1.5}, {"priority"}),
        ({"title": "x" * 201, "kind": "echo"}, {"title"}),
        ({"title": "t", "kind": "k" * 101}, {"kind"}),
        ({"title": "t\x00", "kind": "echo"}, {"title"}),
        ({"title": "t", "kind": "echo", "dedupe_key": "d" * 201}, {"dedupe_key"}),
        ({"title": "t", "kind": "echo", "max_attempts": 0}, {"max_attempts"}),
        ({"title": "t", "kind": "echo", "timeout_seconds": -5}, {"timeout_seconds"}),
        ({"title": "t", "kind": "echo", "timeout_seconds": 10**10}, {"timeout_seconds"}),
        ({"title": "t", "kind": "echo", "blocked_by": "first"}, {"blocked_by"}),
    ],
)
def test_create_refuses_bad_input_naming_the_fields(
    api: APIClient, body: dict[str, Any], fields: set[str]
) -> None:
    response = api.post("/api/tasks/", body, format="json")

    assert response.status_code == 400
    assert set(response.data) == fields
    assert not Task.objects.exists()


@pytest.mark.parametrize("blocker", [987654, 10**30])
def test_create_naming_a_task_that_does_not_exist_is_a_404_naming_the_field(
    api: APIClient, blocker: int
) -> None:
    response = api.post(
        "/api/tasks/", {"title": "t", "kind": "echo", "blocked_by": blocker}, format="json"
    )

    assert response.status_code == 404
    assert set(response.data) == {"blocked_by"}
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[" * 100_000, "application/json", 400),
        ('{"title": "t", "kind": "echo", "priority": NaN}', "application/json", 400),
        ("title=t&kind=echo", "application/x-www-form-urlencoded", 415),
    ],
)
def test_create_refuses_bodies_it_cannot_parse(
    api: APIClient, raw: str, content_type: str, status: int
) -> None:
    response = api.generic("POST", "/api/tasks/", raw, content_type=content_type)

    assert response.status_code == status
    assert "detail" in response.data
    assert not Task.objects.exists()


def test_create_refuses_lone_surrogates_no_database_can_encode(api: APIClient) -> None:
    raw = '{"title": "t", "kind": "echo", "payload": {"text": "\\ud800"}}'

    response = api.generic("POST", "/api/tasks/", raw, content_type="application/json")

    assert response.status_code == 400
    assert set(response.data) == {"payload"}
    assert not Task.objects.exists()


# --- List and detail ----------------------------------------------------------------------


def test_list_is_newest_first(api: APIClient) -> None:
    older, newer = TaskFactory(), TaskFactory()

    response = api.get("/api/tasks/")

    assert response.status_code == 200
    assert [row["id"] for row in response.data["results"]] == [newer.pk, older.pk]


def test_list_filters(api: APIClient) -> None:
    worker = WorkerFactory(capabilities=["scan"])
    running = TaskFactory(kind="scan", source=TaskSource.CODEHEALTH)
    TaskRouter().claim(worker)
    done = TaskFactory(kind="echo", state=TaskState.DONE, source=TaskSource.CODEHEALTH)
    TaskFactory(kind="echo")

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/tasks/?{query}")
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.data["results"]]

    assert ids("state=done") == [done.pk]
    assert ids("kind=scan") == [running.pk]
    assert ids("source=codehealth") == [done.pk, running.pk]
    assert ids(f"worker={worker.pk}") == [running.pk]
    assert ids("source=codehealth&state=running") == [running.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [("state=sleeping", "state"), ("source=nobody", "source"), ("worker=abc", "worker")],
)
def test_list_refuses_bad_filters(api: APIClient, query: str, field: str) -> None:
    response = api.get(f"/api/tasks/?{query}")

    assert response.status_code == 400
    assert set(response.data) == {field}


def test_list_pages_with_a_cursor_without_gaps_or_repeats(api: APIClient) -> None:
    tasks = TaskFactory.create_batch(5)
    seen: list[int] = []
    url: str | None = "/api/tasks/?page_size=2"

    while url:
        response = api.get(url)
        assert response.status_code == 200
        seen += [row["id"] for row in response.data["results"]]
        url = response.data["next"]

    assert seen == [task.pk for task in reversed(tasks)]


def test_detail_includes_the_history(api: APIClient) -> None:
    task = waiting_task()

    response = api.get(f"/api/tasks/{task.pk}/")

    assert response.status_code == 200
    assert response.data["state"] == "waiting_approval"
    history = response.data["history"]
    assert [(row["from_state"], row["to_state"]) for row in history] == [
        ("", "pending"),
        ("pending", "waiting_approval"),
    ]
    assert history[1]["actor"] == "system:test"
    assert history[1]["note"] == "touches prod"


@pytest.mark.parametrize("path", ["/api/tasks/987654/", f"/api/tasks/{10**30}/", "/api/tasks/x/"])
def test_unknown_task_is_404(api: APIClient, path: str) -> None:
    assert api.get(path).status_code == 404


# --- Decisions ----------------------------------------------------------------------------


def test_approve_puts_it_back_to_pending(api: APIClient, user: Any) -> None:
    task = waiting_task(created_by=user)

    response = api.post(f"/api/tasks/{task.pk}/approve/", {"note": "go"}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["state"] == "pending"
    assert response.data["approval_decision"] == "approved"
    assert response.data["decided_by"] == "alice"
    event = TaskEvent.objects.filter(task=task).last()
    assert event is not None and (event.actor, event.note) == ("user:alice", "go")


def test_approve_can_reroute_to_another_kind(api: APIClient, user: Any) -> None:
    task = waiting_task(created_by=user)

    response = api.post(
        f"/api/tasks/{task.pk}/approve/", {"reroute_kind": "deploy-staging"}, format="json"
    )

    assert response.status_code == 200
    assert response.data["kind"] == "deploy-staging"
    event = TaskEvent.objects.filter(task=task).last()
    assert event is not None
    assert event.data == {"rerouted_from": "deploy", "rerouted_to": "deploy-staging"}


def test_reject_cancels_it(api: APIClient, user: Any) -> None:
    task = waiting_task(created_by=user)

    response = api.post(f"/api/tasks/{task.pk}/reject/", {"note": "too risky"}, format="json")

    assert response.status_code == 200
    assert response.data["state"] == "cancelled"
    assert response.data["approval_decision"] == "rejected"
    event = TaskEvent.objects.filter(task=task).last()
    assert event is not None and event.note == "too risky"


def test_cancel_and_retry(api: APIClient, user: Any) -> None:
    task = create_task(title="t", kind="echo", created_by=user).task

    cancelled = api.post(f"/api/tasks/{task.pk}/cancel/", {}, format="json")
    retried = api.post(f"/api/tasks/{task.pk}/retry/", {"note": "once more"}, format="json")

    assert cancelled.status_code == 200 and cancelled.data["state"] == "cancelled"
    assert retried.status_code == 200 and retried.data["state"] == "pending"
    assert retried.data["attempts"] == 0
    assert list(task.events.values_list("to_state", flat=True)) == [
        "pending",
        "cancelled",
        "pending",
    ]


@pytest.mark.parametrize(
    ("action", "state"),
    [
        ("approve", TaskState.PENDING),
        ("reject", TaskState.RUNNING),
        ("cancel", TaskState.DONE),
        ("retry", TaskState.PENDING),
        ("retry", TaskState.WAITING_APPROVAL),
    ],
)
def test_decision_in_the_wrong_state_is_409_and_changes_nothing(
    api: APIClient, user: Any, action: str, state: TaskState
) -> None:
    task = TaskFactory(state=state, created_by=user)

    response = api.post(f"/api/tasks/{task.pk}/{action}/", {}, format="json")

    assert response.status_code == 409
    assert response.data["code"] == "invalid_transition"
    task.refresh_from_db()
    assert task.state == state
    assert not task.events.exists()


@pytest.mark.parametrize("action", ["approve", "reject", "cancel", "retry"])
def test_decision_on_unknown_task_is_404(api: APIClient, action: str) -> None:
    response = api.post(f"/api/tasks/987654/{action}/", {}, format="json")

    assert response.status_code == 404


def test_decision_refuses_bad_input(api: APIClient) -> None:
    task = waiting_task()

    response = api.post(
        f"/api/tasks/{task.pk}/approve/",
        {"reroute_kind": "k" * 101, "note": "n" * 5000},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.data) == {"reroute_kind", "note"}
    task.refresh_from_db()
    assert task.state == TaskState.WAITING_APPROVAL


def test_worker_tokens_may_not_manage_tasks() -> None:
    registered = register_worker(name="w", capabilities=["echo"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {registered.token}")
    task = waiting_task()

    assert client.get("/api/tasks/").status_code == 403
    assert (
        client.post("/api/tasks/", {"title": "t", "kind": "echo"}, format="json").status_code == 403
    )
    assert client.post(f"/api/tasks/{task.pk}/approve/", {}, format="json").status_code == 403
    task.refresh_from_db()
    assert task.state == TaskState.WAITING_APPROVAL


def test_another_users_approval_request_is_a_403(user: Any, django_user_model: Any) -> None:
    from engine.services import create_task, request_approval

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    task = create_task(title="alice's call", kind="chat.tool", created_by=user).task
    request_approval(task_id=task.pk, reason="dangerous", actor="system:test")
    client = APIClient()
    client.force_authenticate(bob)

    response = client.post(f"/api/tasks/{task.pk}/approve/", {}, format="json")

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.state == "waiting_approval"


def test_other_peoples_chat_tasks_are_hidden_from_non_staff(
    user: Any, staff: Any, django_user_model: Any
) -> None:
    from engine.models import TaskSource
    from engine.services import create_task

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    private = create_task(
        title="Chat #1: my salary question", kind="agent", source=TaskSource.CHAT, created_by=user
    ).task
    shared = create_task(title="nightly report", kind="echo", created_by=user).task
    as_bob, as_alice, as_staff = APIClient(), APIClient(), APIClient()
    as_bob.force_authenticate(bob)
    as_alice.force_authenticate(user)
    as_staff.force_authenticate(staff)

    def listed(client: APIClient) -> set[int]:
        return {row["id"] for row in client.get("/api/tasks/").json()["results"]}

    assert listed(as_bob) == {shared.pk}
    assert as_bob.get(f"/api/tasks/{private.pk}/").status_code == 404
    assert listed(as_alice) == listed(as_staff) == {shared.pk, private.pk}


def test_another_users_chat_run_cannot_be_cancelled_or_retried(
    user: Any, django_user_model: Any
) -> None:
    from engine.models import TaskSource
    from engine.services import create_task

    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-123")
    run = create_task(
        title="Chat #1: private", kind="agent", source=TaskSource.CHAT, created_by=user
    ).task
    client = APIClient()
    client.force_authenticate(bob)

    for action in ("cancel", "retry", "approve", "reject"):
        response = client.post(f"/api/tasks/{run.pk}/{action}/", {}, format="json")
        assert response.status_code == 404, action
    run.refresh_from_db()
    assert run.state == "pending"
