"""One token check (issue 17) for the API, the gateway and chat's streams, with one
`last_used_at` rule: a successful check records the use, at most once a minute per token."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from chat.auth import current_user, user_for_token
from engine.authentication import ApiTokenAuthentication
from engine.models import ApiToken, hash_token
from engine.services import create_api_token, register_worker, revoke_api_tokens

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def api_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def last_used(row: ApiToken) -> Any:
    row.refresh_from_db()
    return row.last_used_at


def test_every_face_records_a_use_by_the_same_once_a_minute_rule(user: Any, settings: Any) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 0  # every check reads the token
    row, token = create_api_token(user=user)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        assert api_with(token).get("/api/tasks/").status_code == 200  # the API
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert user_for_token(token)[0] == user  # a websocket connects
    assert last_used(row) == start, "not written again within the minute"

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        scope = {"auth_token_hash": hash_token(token)}
        assert current_user(scope) == user  # the websocket checks again
    assert last_used(row) == start + timedelta(seconds=61)

    with time_machine.travel(start + timedelta(seconds=130), tick=False):
        answer = api_with(token).post("/v1/chat/completions", {}, format="json")  # the gateway
    assert answer.status_code != 401
    assert last_used(row) == start + timedelta(seconds=130)


def test_a_stream_is_refused_what_the_api_refuses(user: Any) -> None:
    row, token = create_api_token(user=user)
    worker = register_worker(name="w", capabilities=["echo"])

    assert user_for_token(worker.token)[0] is None, "a worker token watches no chat"
    assert user_for_token("jgt_not-a-real-token")[0] is None
    assert current_user({"auth_token_hash": hash_token(token)}) == user

    revoke_api_tokens(token_ids=[row.pk])

    assert current_user({"auth_token_hash": hash_token(token)}) is None, "at once, here"
    assert user_for_token(token)[0] is None
    assert api_with(token).get("/api/tasks/").status_code == 401


def test_a_token_the_api_just_checked_is_not_read_again_by_a_stream(
    user: Any, settings: Any
) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 60
    _, token = create_api_token(user=user)
    assert api_with(token).get("/api/tasks/").status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert current_user({"auth_token_hash": hash_token(token)}) == user
    assert not [q for q in queries.captured_queries if "apitoken" in q["sql"].lower()]


def test_the_gateway_authenticates_with_engines_class_without_importing_engine() -> None:
    """Layering: routing imports no other app. The gateway's views are DRF views and take
    DRF's default authenticators, which config/settings.py names."""
    from routing.gateway.views import ChatCompletionsView

    authenticators = ChatCompletionsView().get_authenticators()
    assert any(isinstance(a, ApiTokenAuthentication) for a in authenticators)
    assert (
        "engine.authentication.ApiTokenAuthentication"
        in (django_settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"])
    )
    for path in (REPO / "routing").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            ) + ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] == "engine" for name in names), path
