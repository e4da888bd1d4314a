"""Who may use which API: a worker token opens only its own worker endpoints."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from engine.services import register_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_client() -> APIClient:
    registered = register_worker(name="w1", capabilities=["echo"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {registered.token}")
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/models"),
        ("post", "/v1/chat/completions"),
        ("post", "/api/logs/ingest/"),
        ("get", "/api/tasks/"),
        ("get", "/api/chat/sessions/"),
        ("post", "/api/selfheal/diagnose/"),
    ],
)
def test_a_worker_token_is_refused_outside_the_worker_endpoints(
    worker_client: APIClient, method: str, path: str
) -> None:
    response = getattr(worker_client, method)(path, {}, format="json")

    assert response.status_code == 403, (path, response.status_code)
