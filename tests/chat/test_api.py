from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chat.models import ChatSession, SessionState
from chat.services import publish
from engine.models import Task, TaskState
from engine.services import register_worker
from tests.chat.conftest import make_session
from tests.factories import api_client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]


@pytest.fixture
def api(user: Any) -> APIClient:
    return api_client_for(user)


def test_create_list_and_read_sessions(api: APIClient, user: Any, other: Any) -> None:
    created = api.post(
        "/api/chat/sessions/", {"mode": "ops", "title": "night shift"}, format="json"
    )
    make_session(other)

    assert created.status_code == 201, created.data
    assert (created.data["mode"], created.data["owner"], created.data["state"]) == (
        "ops",
        "alice",
        "idle",
    )
    assert created.data["budget"]["steps"] == {"used": 0, "limit": 5}
    listed = api.get("/api/chat/sessions/")
    assert [s["id"] for s in listed.data["results"]] == [created.data["id"]]
    detail = api.get(f"/api/chat/sessions/{created.data['id']}/")
    assert detail.status_code == 200 and detail.data["messages"] == []


def test_listing_sessions_reads_the_policies_once(api: APIClient, user: Any, settings: Any) -> None:
    # Routing may keep policies in the process for a moment; off, a read per row would show.
    settings.ROUTING_LOOKUP_SECONDS = 0
    modes = ["ops", "code", "normal", "deep_research"]

    def queries_for_a_list_of(count: int) -> int:
        ChatSession.objects.all().delete()
        for n in range(count):
            make_session(user, mode=modes[n % len(modes)])
        with CaptureQueriesContext(connection) as captured:
            listed = api.get("/api/chat/sessions/")
        assert len(listed.data["results"]) == count
        assert {s["budget"]["seconds"]["limit"] for s in listed.data["results"]} == (
            {120, 900, 300, 1800} if count >= len(modes) else {120, 900}
        ), "each row has its own mode's limits"
        return len(captured)

    api.get("/api/chat/sessions/")  # the token's first use of the minute is written down
    assert queries_for_a_list_of(10) == queries_for_a_list_of(2)


def test_staff_see_every_session(staff: Any, user: Any) -> None:
    make_session(user)
    assert len(api_client_for(staff).get("/api/chat/sessions/").data["results"]) == 1


def test_another_users_session_is_not_found(api: APIClient, other: Any) -> None:
    theirs = make_session(other)
    for method, suffix in [
        ("get", ""),
        ("post", "messages/"),
        ("post", "stop/"),
        ("get", "events/"),
    ]:
        response = getattr(api, method)(
            f"/api/chat/sessions/{theirs.pk}/{suffix}", {"content": "hi"}, format="json"
        )
        assert response.status_code == 404, (method, suffix)


def test_posting_a_message_queues_a_run_for_a_worker(api: APIClient, user: Any) -> None:
    session = make_session(user)

    response = api.post(
        f"/api/chat/sessions/{session.pk}/messages/", {"content": "list tasks"}, format="json"
    )

    assert response.status_code == 202, response.data
    assert response.data["after"] == 1, "after session.created"
    assert response.data["session"]["state"] == "queued"
    task = Task.objects.get(pk=response.data["session"]["current_task"])
    assert (task.kind, task.state, task.payload["session"]) == (
        "agent",
        TaskState.PENDING,
        session.pk,
    )
    assert task.created_by == user and task.source_ref == f"chat:{session.pk}"
    again = api.post(
        f"/api/chat/sessions/{session.pk}/messages/", {"content": "more"}, format="json"
    )
    assert again.status_code == 409 and again.data["code"] == "session_busy"


def test_stop_cancels_a_run_no_worker_took_yet(api: APIClient, user: Any) -> None:
    session = make_session(user)
    api.post(f"/api/chat/sessions/{session.pk}/messages/", {"content": "x"}, format="json")

    response = api.post(f"/api/chat/sessions/{session.pk}/stop/")

    assert response.status_code == 200
    assert (response.data["state"], response.data["stop"]["reason"]) == ("stopped", "user_stopped")
    assert Task.objects.get(pk=response.data["current_task"]).state == TaskState.CANCELLED
    run = api.post(f"/api/chat/sessions/{session.pk}/run/")
    assert run.status_code == 202 and run.data["session"]["state"] == "queued"


def test_run_needs_something_to_continue(api: APIClient, user: Any) -> None:
    session = make_session(user)
    assert api.post(f"/api/chat/sessions/{session.pk}/run/").data["code"] == "nothing_to_run"
    ChatSession.objects.filter(pk=session.pk).update(stop_reason="completed")
    session.messages.create(role="user", content="x")
    response = api.post(f"/api/chat/sessions/{session.pk}/run/")
    assert response.status_code == 409 and "send a message" in response.data["detail"]


def test_run_with_a_budget_still_spent_is_a_409_naming_it(api: APIClient, user: Any) -> None:
    # Paused by its step budget, as the loop leaves it (tests/chat/test_budgets_resume.py).
    session = make_session(
        user, max_steps=2, steps_used=2, state="stopped", stop_reason="step_budget"
    )
    session.messages.create(role="user", content="echo a lot")
    events = session.last_seq

    refused = api.post(f"/api/chat/sessions/{session.pk}/run/")

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "Run would stop again at once: step budget reached (2 of 2 steps used). "
        "Raise max_steps above 2 (“Raise or lower budgets” on the page, or POST "
        f"/api/chat/sessions/{session.pk}/budgets/), then press Run.",
        "code": "budget_spent",
        "budget": "steps",
        "used": 2,
        "limit": 2,
        "raise": "max_steps",
    }
    session.refresh_from_db()
    assert (session.state, session.last_seq) == ("stopped", events), "nothing queued or said"
    assert not Task.objects.filter(kind="agent", state=TaskState.PENDING).exists()

    api.post(f"/api/chat/sessions/{session.pk}/budgets/", {"max_steps": 5}, format="json")
    accepted = api.post(f"/api/chat/sessions/{session.pk}/run/")
    assert accepted.status_code == 202 and accepted.data["session"]["state"] == "queued"


def test_mode_and_budgets(api: APIClient, user: Any) -> None:
    session = make_session(user, mode="ops")

    mode = api.post(f"/api/chat/sessions/{session.pk}/mode/", {"mode": "code"}, format="json")
    budgets = api.post(
        f"/api/chat/sessions/{session.pk}/budgets/",
        {"max_steps": 40, "max_cost": "2.5"},
        format="json",
    )

    assert mode.status_code == 200 and mode.data["mode"] == "code"
    assert budgets.status_code == 200
    assert budgets.data["budget"]["steps"]["limit"] == 40
    assert budgets.data["budget"]["cost"]["limit"] == "2.5"
    reset = api.post(
        f"/api/chat/sessions/{session.pk}/budgets/", {"max_steps": None}, format="json"
    )
    assert reset.data["budget"]["steps"]["limit"] == 20, "back to the code policy's"
    ChatSession.objects.filter(pk=session.pk).update(state=SessionState.THINKING)
    assert (
        api.post(
            f"/api/chat/sessions/{session.pk}/mode/", {"mode": "ops"}, format="json"
        ).status_code
        == 409
    )


@pytest.mark.parametrize(
    ("suffix", "body", "field"),
    [
        ("messages/", {"content": ""}, "content"),
        ("messages/", {}, "content"),
        ("mode/", {"mode": "turbo"}, "mode"),
        ("budgets/", {"max_steps": 0}, "max_steps"),
        ("budgets/", {"max_cost": "-1"}, "max_cost"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    api: APIClient, user: Any, suffix: str, body: Any, field: str
) -> None:
    session = make_session(user)
    response = api.post(f"/api/chat/sessions/{session.pk}/{suffix}", body, format="json")
    assert response.status_code == 400 and field in response.data


def test_empty_budgets_change_nothing(api: APIClient, user: Any) -> None:
    session = make_session(user)
    api.post(f"/api/chat/sessions/{session.pk}/budgets/", {"max_steps": 7}, format="json")

    response = api.post(f"/api/chat/sessions/{session.pk}/budgets/", {}, format="json")

    assert response.status_code == 200
    assert response.data["max_steps"] == 7


def test_events_after_a_seq_are_paginated(api: APIClient, user: Any) -> None:
    session = make_session(user)
    for n in range(5):
        publish(session.pk, "error", {"message": str(n), "code": "c"})

    # seq 1 is session.created; the five errors are 2 to 6.
    page = api.get(f"/api/chat/sessions/{session.pk}/events/?after=2&limit=2").data

    assert [e["seq"] for e in page["events"]] == [3, 4]
    assert (page["next_after"], page["last_seq"], page["has_more"]) == (4, 6, True)
    last = api.get(f"/api/chat/sessions/{session.pk}/events/?after=4&limit=2").data
    assert [e["seq"] for e in last["events"]] == [5, 6] and last["has_more"] is False
    assert api.get(f"/api/chat/sessions/{session.pk}/events/?after=-1").status_code == 400


def test_the_event_schema_is_served(api: APIClient) -> None:
    response = api.get("/api/chat/events/schema/")
    assert response.status_code == 200 and "run.stopped" in response.data["types"]


def test_no_token_is_401_and_a_worker_token_is_refused(user: Any) -> None:
    assert APIClient().get("/api/chat/sessions/").status_code == 401
    worker = register_worker(name="w", capabilities=["agent"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {worker.token}")
    assert client.get("/api/chat/sessions/").status_code == 403


def test_the_api_schema_generates_without_warnings() -> None:
    from django.urls import include, path
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/chat/", include("chat.api.urls"))])
    schema = generator.get_schema(request=None, public=True)

    assert "/api/chat/sessions/{id}/messages/" in schema["paths"]
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache
