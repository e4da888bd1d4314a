"""Worker takeover (issue 14, High 1), written as the plain user would try it: a worker
belongs to the user who registered it, or to whoever may manage workers."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from engine.models import Worker, hash_token
from engine.services import RegisteredWorker, ensure_builtin_worker, register_worker
from tests.factories import UserFactory, api_client_for

pytestmark = pytest.mark.django_db


def worker_client(registered: RegisteredWorker) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {registered.token}")
    return client


@pytest.fixture
def admins_worker(staff: Any) -> RegisteredWorker:
    return register_worker(name="gpu-1", capabilities=["agent"], registered_by=staff)


def test_registering_another_users_worker_name_is_refused_and_rotates_nothing(
    user: Any, staff: Any, admins_worker: RegisteredWorker
) -> None:
    response = api_client_for(user).post(
        "/api/workers/", {"name": "gpu-1", "capabilities": ["agent"]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "worker_name_taken"
    assert response.json()["field"] == "name"
    assert "another user's worker" in response.json()["detail"]
    assert "token" not in response.json()
    worker = Worker.objects.get(name="gpu-1")
    assert worker.token_hash == hash_token(admins_worker.token), "the owner's token stands"
    assert worker.registered_by == staff
    heartbeat = worker_client(admins_worker).post(f"/api/workers/{worker.pk}/heartbeat/")
    assert heartbeat.status_code == 200


def test_a_worker_whose_owner_is_gone_is_not_anyones_to_take(user: Any) -> None:
    orphan = register_worker(name="orphan", capabilities=["echo"])  # no owner: the operator's

    response = api_client_for(user).post(
        "/api/workers/", {"name": "orphan", "capabilities": ["echo"]}, format="json"
    )

    assert response.status_code == 409
    assert Worker.objects.get(name="orphan").token_hash == hash_token(orphan.token)


def test_the_built_in_workers_name_is_refused_naming_the_field(user: Any) -> None:
    ensure_builtin_worker(name="local", capabilities=["echo"], max_concurrency=1)

    response = api_client_for(user).post(
        "/api/workers/", {"name": "local", "capabilities": ["echo"]}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["field"] == "name"
    assert Worker.objects.get(name="local").token_hash is None


def test_one_who_may_manage_workers_may_give_a_worker_a_new_token_and_it_keeps_its_owner(
    user: Any,
) -> None:
    mine = register_worker(name="box", capabilities=["echo"], registered_by=user)
    manager = UserFactory()
    manager.groups.add(Group.objects.get(name="admin"))

    response = api_client_for(manager).post(
        "/api/workers/", {"name": "box", "capabilities": ["echo"]}, format="json"
    )

    assert response.status_code == 200
    assert Worker.objects.get(name="box").registered_by == user
    assert worker_client(mine).post(f"/api/workers/{mine.worker.pk}/heartbeat/").status_code == 401


def test_a_plain_user_may_not_register_a_shared_worker(user: Any) -> None:
    response = api_client_for(user).post(
        "/api/workers/",
        {"name": "everyones", "capabilities": ["agent"], "shared": True},
        format="json",
    )

    assert response.status_code == 403
    assert "shared" in response.json()["detail"]
    assert not Worker.objects.filter(name="everyones").exists()


def test_an_admin_may_register_a_shared_worker(staff: Any) -> None:
    response = api_client_for(staff).post(
        "/api/workers/",
        {"name": "ops-box", "capabilities": ["ops.restart"], "shared": True},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["worker"]["shared"] is True
    assert Worker.objects.get(name="ops-box").shared


def test_registering_again_without_shared_leaves_it_as_it_was(staff: Any) -> None:
    register_worker(name="ops-box", capabilities=["echo"], registered_by=staff, shared=True)

    response = api_client_for(staff).post(
        "/api/workers/", {"name": "ops-box", "capabilities": ["echo"]}, format="json"
    )

    assert response.status_code == 200
    assert Worker.objects.get(name="ops-box").shared
