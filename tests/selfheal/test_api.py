"""Self-heal's REST API: the status codes and the shapes people and scripts rely on."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from engine.models import Task, TaskState
from engine.services import register_worker
from selfheal.models import PlaybookExecution
from selfheal.services import may_run_repair, run_repair
from tests.factories import UserFactory, api_client_for
from tests.selfheal.factories import (
    AutoHealRuleFactory,
    blocked_on_done,
    grant_repair,
    stuck_running,
)

pytestmark = pytest.mark.django_db

API = "/api/selfheal/"


@pytest.fixture
def api(user: Any) -> APIClient:
    """Alice, granted `selfheal.run_repair`: she may run everything."""
    return api_client_for(grant_repair(user))


@pytest.fixture
def plain_api(user: Any) -> APIClient:
    """Alice, signed in and nothing more: she may diagnose and read."""
    return api_client_for(user)


def test_without_credentials_every_endpoint_answers_401() -> None:
    client = APIClient()
    for method, url in [
        ("post", "diagnose/"),
        ("post", "repair/"),
        ("post", "autoheal/"),
        ("get", "executions/"),
        ("get", "progress/"),
    ]:
        assert getattr(client, method)(API + url).status_code == 401, url


def test_a_worker_token_may_not_run_playbooks() -> None:
    worker = register_worker(name="w1", capabilities=["echo"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {worker.token}")

    assert client.post(API + "repair/").status_code == 403


def test_diagnose_answers_201_with_six_findings(api: APIClient) -> None:
    response = api.post(API + "diagnose/", {"reason": "checking"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["playbook"] == "diagnose" and body["state"] == "done"
    assert body["triggered_by"] == "user:alice" and body["reason"] == "checking"
    assert [f["check"] for f in body["findings"]] == [
        "database",
        "workers",
        "task_queue",
        "error_patterns",
        "completion_rates",
        "resources",
    ]
    assert {"severity", "message", "evidence", "suggestion", "duration_ms"} <= set(
        body["findings"][0]
    )


def test_repair_dry_run_plans_and_changes_nothing(api: APIClient) -> None:
    blocked_on_done(2)

    response = api.post(API + "repair/", {"dry_run": True}, format="json")

    body = response.json()
    assert response.status_code == 201
    assert body["dry_run"] is True
    assert [a["status"] for a in body["actions"]] == ["planned", "planned"]
    assert Task.objects.filter(state=TaskState.BLOCKED).count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"dry_run": "maybe"}, "dry_run"), ({"reason": "x" * 501}, "reason")],
)
def test_bad_input_is_400_naming_the_field(api: APIClient, payload: Any, field: str) -> None:
    response = api.post(API + "repair/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_a_second_run_while_one_runs_is_409(api: APIClient) -> None:
    PlaybookExecution.objects.create(playbook="repair", triggered_by="user:bob")

    response = api.post(API + "repair/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_running"
    assert "already running" in response.json()["detail"]


def test_progress_lists_what_runs(api: APIClient) -> None:
    running = PlaybookExecution.objects.create(
        playbook="repair", triggered_by="user:bob", progress={"label": "x", "step": 2, "of": 9}
    )

    body = api.get(API + "progress/").json()

    assert body == {"running": [body["running"][0]]}
    assert body["running"][0]["id"] == running.pk
    assert body["running"][0]["progress"] == {"label": "x", "step": 2, "of": 9}


def test_history_is_paginated_newest_first_and_filterable(api: APIClient) -> None:
    ids = [api.post(API + "diagnose/").json()["id"] for _ in range(3)]
    api.post(API + "repair/", {"dry_run": True}, format="json")

    first = api.get(API + "executions/", {"playbook": "diagnose", "page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert [e["id"] for e in first["results"]] == [ids[2], ids[1]]
    assert [e["id"] for e in second["results"]] == [ids[0]]
    assert second["next"] is None
    assert api.get(API + "executions/", {"state": "nope"}).status_code == 400


def test_one_execution_with_findings_actions_and_snapshots(api: APIClient) -> None:
    blocked_on_done(1)
    repair_id = api.post(API + "repair/", {}, format="json").json()["id"]

    body = api.get(f"{API}executions/{repair_id}/").json()

    assert len(body["findings"]) == 12
    assert body["actions"][0]["status"] == "applied"
    assert body["snapshots"][0]["model_label"] == "engine.task"
    assert body["snapshots"][0]["action"] == body["actions"][0]["id"]
    assert body["revertible"] is True
    assert body["bounds"] == {"reset_blocked": 10, "reset_stuck": 5, "create_fix_tasks": 3}
    assert api.get(f"{API}executions/999999/").status_code == 404


def test_revert_answers_201_then_409(api: APIClient) -> None:
    stuck_running(1)
    repair_id = api.post(API + "repair/", {}, format="json").json()["id"]

    first = api.post(f"{API}executions/{repair_id}/revert/", {}, format="json")
    second = api.post(f"{API}executions/{repair_id}/revert/", {}, format="json")

    assert first.status_code == 201
    assert first.json()["playbook"] == "revert" and first.json()["target"] == repair_id
    assert second.status_code == 409 and second.json()["code"] == "not_revertible"
    assert api.post(f"{API}executions/999999/revert/").status_code == 404


def test_autoheal_answers_200_with_the_rules_decisions(api: APIClient, no_rules: None) -> None:
    AutoHealRuleFactory(name="stuck", check_name="task_queue")
    stuck_running(1)

    response = api.post(API + "autoheal/")

    body = response.json()
    assert response.status_code == 200
    assert body["diagnosis"]["playbook"] == "diagnose"
    assert body["decisions"][0]["rule"] == "stuck" and body["decisions"][0]["ran"] is True
    assert body["executions"] == [body["decisions"][0]["execution"]]


def test_a_signed_in_user_without_the_permission_may_diagnose_and_read(
    plain_api: APIClient,
) -> None:
    diagnosis = plain_api.post(API + "diagnose/", {}, format="json")

    assert diagnosis.status_code == 201
    assert plain_api.get(f"{API}executions/{diagnosis.json()['id']}/").status_code == 200
    assert plain_api.get(API + "executions/").status_code == 200
    assert plain_api.get(API + "progress/").status_code == 200


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("repair/", {}),
        ("repair/", {"dry_run": True}),
        ("autoheal/", {}),
        ("executions/{repair}/revert/", {}),
    ],
)
def test_changing_runs_are_refused_403_without_the_permission(
    plain_api: APIClient, url: str, body: dict[str, Any]
) -> None:
    blocked = blocked_on_done(1)[0]
    repair = run_repair(triggered_by="user:olga")
    before = PlaybookExecution.objects.count()

    response = plain_api.post(API + url.format(repair=repair.pk), body, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "repair_not_allowed"
    needed = "selfheal.revert_execution" if "revert" in url else "selfheal.run_repair"
    assert needed in response.json()["detail"]
    assert PlaybookExecution.objects.count() == before, "nothing ran"
    blocked.refresh_from_db()
    assert blocked.state == TaskState.PENDING, "the repair's change was not reverted"


def test_staff_status_alone_is_no_permission_but_a_superuser_holds_them_all() -> None:
    staff = UserFactory(username="sam", is_staff=True)
    root = UserFactory(username="root", is_staff=True, is_superuser=True)

    refused = api_client_for(staff).post(API + "repair/", {"dry_run": True}, format="json")
    allowed = api_client_for(root).post(API + "repair/", {"dry_run": True}, format="json")

    assert (refused.status_code, allowed.status_code) == (403, 201)


def test_the_operator_role_lets_a_user_repair_and_revert(user: Any) -> None:
    user.groups.add(Group.objects.get(name="operator"))
    client = api_client_for(user)
    blocked_on_done(1)

    repair = client.post(API + "repair/", {}, format="json")
    revert = client.post(f"{API}executions/{repair.json()['id']}/revert/", {}, format="json")

    assert (repair.status_code, revert.status_code) == (201, 201)


def test_repairing_does_not_let_one_revert(user: Any) -> None:
    client = api_client_for(grant_repair(user, "run_repair"))
    blocked_on_done(1)
    repair = client.post(API + "repair/", {}, format="json")

    revert = client.post(f"{API}executions/{repair.json()['id']}/revert/", {}, format="json")

    assert repair.status_code == 201
    assert revert.status_code == 403
    assert "selfheal.revert_execution" in revert.json()["detail"]
    assert PlaybookExecution.objects.get(pk=repair.json()["id"]).reverted_at is None


def test_an_inactive_superuser_may_not_repair() -> None:
    gone = UserFactory(username="gone", is_staff=True, is_superuser=True, is_active=False)
    assert may_run_repair(gone) is False


def test_the_api_schema_generates_without_warnings() -> None:
    # The project's token scheme is described to drf-spectacular by the engine's API.
    importlib.import_module("config.api.schema")
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/selfheal/", include("selfheal.api.urls"))])

    schema = generator.get_schema(request=None, public=True)

    assert "/api/selfheal/executions/{id}/revert/" in schema["paths"]
    assert "409" in schema["paths"]["/api/selfheal/repair/"]["post"]["responses"]
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache
    enums = [name for name in schema["components"]["schemas"] if name.endswith("Enum")]
    assert enums == []
