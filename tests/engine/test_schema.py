from __future__ import annotations

from typing import Any

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from engine.services import create_api_token

pytestmark = pytest.mark.django_db

ENGINE_PATHS = {
    "/api/tasks/": {"get", "post"},
    "/api/tasks/{id}/": {"get"},
    "/api/tasks/{id}/approve/": {"post"},
    "/api/tasks/{id}/reject/": {"post"},
    "/api/tasks/{id}/cancel/": {"post"},
    "/api/tasks/{id}/retry/": {"post"},
    "/api/workers/": {"get", "post"},
    "/api/workers/{id}/heartbeat/": {"post"},
    "/api/workers/{id}/claim/": {"post"},
    "/api/workers/{id}/tasks/{task_id}/complete/": {"post"},
    "/api/workers/{id}/tasks/{task_id}/fail/": {"post"},
}


def test_schema_lists_the_task_and_worker_endpoints(user: Any) -> None:
    _, token = create_api_token(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    for url, methods in ENGINE_PATHS.items():
        assert url in schema["paths"], url
        assert methods <= set(schema["paths"][url]), url
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    claim = schema["paths"]["/api/workers/{id}/claim/"]["post"]["responses"]
    assert {"200", "204", "409"} <= set(claim)


def test_schema_needs_authentication() -> None:
    assert APIClient().get("/api/schema/").status_code == 401


def test_engine_api_schema_generates_without_warnings() -> None:
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/", include("engine.api.urls"))])

    schema = generator.get_schema(request=None, public=True)

    assert set(ENGINE_PATHS) <= set(schema["paths"])
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache
    states = schema["components"]["schemas"]
    assert "TaskStateEnum" in states and "WorkerStateEnum" in states


def test_swagger_ui_serves_a_logged_in_user(user: Any) -> None:
    client = APIClient()
    client.force_login(user)

    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_swagger_ui_loads_nothing_from_other_hosts(user: Any) -> None:
    """A self-hosted control plane may have no internet: its API docs must still work."""
    import re

    client = APIClient()
    client.force_login(user)

    html = client.get("/api/docs/").content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page names its scripts and styles"
    assert [a for a in assets if a.startswith(("http:", "https:", "//"))] == []
