from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from config.api.permissions import IsHumanUser
from engine import token_cache
from engine.api.permissions import IsThisWorker
from engine.authentication import WorkerPrincipal
from engine.models import ApiToken, hash_token
from engine.services import create_api_token, register_worker, revoke_api_tokens
from engine.services.tokens import token_owner
from tests.factories import UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def client_with(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


def test_anonymous_request_gets_401_not_a_redirect() -> None:
    response = APIClient().get("/api/tasks/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "Location" not in response


@pytest.mark.parametrize("keyword", ["Token", "token", "Bearer"])
def test_user_token_authenticates(user: Any, keyword: str) -> None:
    row, token = create_api_token(user=user, name="ci")

    response = client_with(f"{keyword} {token}").get("/api/tasks/")

    assert response.status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None
    assert row.token_hash != token and token not in row.prefix + row.name


@pytest.mark.parametrize(
    "header",
    [
        "Token jgt_not-a-real-token",
        "Token jgw_not-a-real-worker-token",
        "Token",
        "Token one two",
        "Bearer \xff\xfe",
    ],
)
def test_bad_tokens_get_401(header: str) -> None:
    response = client_with(header).get("/api/tasks/")

    assert response.status_code == 401


def test_revoked_token_gets_401(user: Any) -> None:
    row, token = create_api_token(user=user)
    ApiToken.objects.filter(pk=row.pk).update(revoked=True)

    assert client_with(f"Token {token}").get("/api/tasks/").status_code == 401


def test_inactive_users_token_gets_401() -> None:
    user = UserFactory(is_active=False)
    _, token = create_api_token(user=user)

    assert client_with(f"Token {token}").get("/api/tasks/").status_code == 401


def test_worker_token_authenticates_a_worker_principal() -> None:
    registered = register_worker(name="w", capabilities=["echo"])
    client = client_with(f"Token {registered.token}")

    assert client.post(f"/api/workers/{registered.worker.pk}/heartbeat/").status_code == 200
    # A worker is not a person: the human endpoints refuse it (403, it is authenticated).
    assert client.get("/api/tasks/").status_code == 403


def test_session_login_works_for_people(user: Any) -> None:
    client = APIClient()
    client.force_login(user)

    assert client.get("/api/tasks/").status_code == 200
    assert client.get("/api/workers/").status_code == 200


# --- The permission classes on their own ----------------------------------------------------


def request_as(principal: Any) -> Any:
    return SimpleNamespace(user=principal)


def view_for(pk: Any) -> Any:
    return SimpleNamespace(kwargs={"pk": pk})


def test_is_human_user() -> None:
    worker = WorkerFactory()

    assert IsHumanUser().has_permission(request_as(UserFactory()), view_for(1))
    assert not IsHumanUser().has_permission(request_as(UserFactory(is_active=False)), view_for(1))
    assert not IsHumanUser().has_permission(request_as(AnonymousUser()), view_for(1))
    assert not IsHumanUser().has_permission(request_as(WorkerPrincipal(worker)), view_for(1))


def test_is_this_worker() -> None:
    worker, other = WorkerFactory(), WorkerFactory()
    principal = WorkerPrincipal(worker)

    assert IsThisWorker().has_permission(request_as(principal), view_for(worker.pk))
    assert IsThisWorker().has_permission(request_as(principal), view_for(str(worker.pk)))
    assert not IsThisWorker().has_permission(request_as(principal), view_for(other.pk))
    assert not IsThisWorker().has_permission(request_as(principal), view_for(None))
    assert not IsThisWorker().has_permission(request_as(UserFactory()), view_for(worker.pk))


def test_last_used_is_written_at_most_once_a_minute(user: Any, settings: Any) -> None:
    import time_machine
    from django.utils import timezone

    settings.API_TOKEN_CACHE_SECONDS = 0  # every request reads the token

    row, token = create_api_token(user=user)
    client = client_with(f"Token {token}")
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        client.get("/api/tasks/")
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get("/api/tasks/")
    row.refresh_from_db()
    assert row.last_used_at == start

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get("/api/tasks/")
    row.refresh_from_db()
    assert row.last_used_at == start + timedelta(seconds=61)


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Clock:
    settings.API_TOKEN_CACHE_SECONDS = 1
    ticking = Clock()
    monkeypatch.setattr(token_cache.time, "monotonic", ticking)
    return ticking


def test_a_checked_token_is_not_read_again_within_the_moment(user: Any, clock: Clock) -> None:
    _, token = create_api_token(user=user)
    client = client_with(f"Token {token}")
    client.get("/api/tasks/")

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/tasks/").status_code == 200
    assert not [q for q in queries.captured_queries if "apitoken" in q["sql"].lower()]


def test_revoking_elsewhere_counts_once_the_moment_passes(user: Any, clock: Clock) -> None:
    row, token = create_api_token(user=user)
    client = client_with(f"Token {token}")
    assert client.get("/api/tasks/").status_code == 200

    ApiToken.objects.filter(pk=row.pk).update(revoked=True)  # as another process would

    assert client.get("/api/tasks/").status_code == 200
    clock.now += 1.0
    assert client.get("/api/tasks/").status_code == 401


def test_revoking_or_deactivating_here_counts_at_once(user: Any, clock: Clock) -> None:
    row, token = create_api_token(user=user)
    other_row, other_token = create_api_token(user=UserFactory())
    assert client_with(f"Token {token}").get("/api/tasks/").status_code == 200
    assert client_with(f"Token {other_token}").get("/api/tasks/").status_code == 200

    revoke_api_tokens(token_ids=[row.pk])
    other_row.user.is_active = False
    other_row.user.save()

    assert client_with(f"Token {token}").get("/api/tasks/").status_code == 401
    assert client_with(f"Token {other_token}").get("/api/tasks/").status_code == 401


def test_a_clear_landing_while_an_owner_is_put_is_not_undone(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revocation's clear() on one thread and a lookup's put() on another: the put saw
    the generation unchanged, the clear lands before it stores. Nothing stale may remain."""
    settings.API_TOKEN_CACHE_SECONDS = 60
    owners = token_cache.RecentOwners()
    owner = token_cache.TokenOwner(user=object(), token_id=1, revoked=False, unused_since=False)
    clearing = threading.Thread(target=owners.clear)

    class ClearMeanwhile(int):
        # put() compares the cache's size with this after its generation check, before it
        # stores: the moment another thread's clear() can land in.
        def __le__(self, size: object) -> bool:
            clearing.start()
            clearing.join(timeout=0.2)  # a put that holds a lock makes the clear wait
            return False

    monkeypatch.setattr(token_cache, "MAX_RECENT_OWNERS", ClearMeanwhile(10))
    owners.put("digest", owner, generation=owners.generation)
    clearing.join()

    assert owners.get("digest") is None


def test_a_lookup_made_while_a_deactivation_commits_is_forgotten_at_commit(
    user: Any, clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    """The admin saves inside a transaction: post_save clears the cache before the change is
    committed, so a request on another thread can read the old row and keep it again."""
    _, token = create_api_token(user=user)
    digest = hash_token(token)
    before = token_owner(digest, used_before=timezone.now())  # what other connections still see
    assert before is not None

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        user.is_active = False
        user.save()  # clears the cache; not committed yet
        owners = token_cache.recent_owners
        owners.put(digest, before, generation=owners.generation)  # another thread's lookup

    assert client_with(f"Token {token}").get("/api/tasks/").status_code == 401
