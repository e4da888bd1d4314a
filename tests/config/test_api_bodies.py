"""Bodies an attacker sends to every app's API: JSON nested past Python's recursion limit,
and bodies too large for Django; each is a 4xx in JSON, never a 500 or an HTML page."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from chat.services import create_session
from tests.factories import api_client_for

pytestmark = pytest.mark.django_db

NESTED = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def api(staff: Any) -> APIClient:
    return api_client_for(staff)


def posts(staff: Any) -> list[str]:
    session = create_session(owner=staff, mode="ops", title="t")
    return [
        "/api/chat/sessions/",
        f"/api/chat/sessions/{session.pk}/messages/",
        f"/api/chat/sessions/{session.pk}/mode/",
        f"/api/chat/sessions/{session.pk}/budgets/",
        "/api/selfheal/diagnose/",
        "/api/selfheal/repair/",
        "/api/tasks/",
        "/api/logs/sources/",
    ]


def test_json_nested_too_deep_is_a_400_everywhere(api: APIClient, staff: Any) -> None:
    for url in posts(staff):
        response = api.post(url, NESTED, content_type="application/json")

        assert response.status_code == 400, (url, response.status_code)
        assert "nested too deeply" in response.json()["detail"], url


def test_a_body_over_djangos_limit_is_a_413_in_json(api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"title": "' + "x" * 5000 + '", "kind": "echo"}'

    response = api.post("/api/tasks/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_form_post_over_djangos_limit_is_a_413(client: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = client.post("/accounts/login/", {"username": "x" * 5000, "password": "p"})

    assert response.status_code == 413


@pytest.mark.parametrize(
    "url", ["/api/selfheal/executions/null%2Cnull/", "/api/no-such-endpoint/", "/v1/nothing"]
)
def test_a_path_the_api_does_not_know_is_a_404_in_json(api: APIClient, url: str) -> None:
    response = api.get(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_an_unreadable_cursor_is_a_documented_404_in_json(api: APIClient) -> None:
    response = api.get("/api/tasks/", {"cursor": "not-a-cursor"})
    documented = api.get("/api/schema/", {"format": "json"}).json()

    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"
    assert "404" in documented["paths"]["/api/tasks/"]["get"]["responses"]


@pytest.mark.parametrize("page_size", ["0", "-3", "null", "501", "1e2"])
def test_a_page_size_out_of_its_range_is_a_400(api: APIClient, page_size: str) -> None:
    response = api.get("/api/logs/entries/", {"page_size": page_size})

    assert response.status_code == 400
    assert "page_size" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": 0, "kind": "echo"}, "title"),
        ({"title": "t", "kind": "echo", "priority": "5"}, "priority"),
        ({"title": "t", "kind": "echo", "priority": True}, "priority"),
        ({"title": " " + "x" * 200, "kind": "echo"}, "title"),
    ],
)
def test_json_of_the_wrong_type_or_length_is_refused(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    response = api.post("/api/tasks/", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_query_strings_keep_their_text_conversions(api: APIClient) -> None:
    assert api.get("/api/tasks/", {"worker": "5"}).status_code == 200


def test_a_body_naming_a_missing_row_is_a_404_and_a_duplicate_a_409(
    api: APIClient,
) -> None:
    missing = api.post(
        "/api/tasks/", {"title": "t", "kind": "echo", "blocked_by": 999999}, format="json"
    )
    first = api.post("/api/logs/sources/", {"name": "dup", "kind": "http"}, format="json")
    again = api.post("/api/logs/sources/", {"name": "dup", "kind": "http"}, format="json")

    assert missing.status_code == 404
    assert "blocked_by" in missing.json()
    assert first.status_code == 201
    assert again.status_code == 409
    assert "name" in again.json()


def test_the_api_answers_json_to_a_browser_too(api: APIClient) -> None:
    response = api.get("/api/tasks/", HTTP_ACCEPT="text/html")

    assert response["Content-Type"] == "application/json"


def test_a_gateway_body_between_django_and_gateway_limits_is_read_not_a_500(user: Any) -> None:
    from engine.services import create_api_token

    _, token = create_api_token(user=user)
    content = "x" * (3 * 1024 * 1024)  # over Django's default 2.5 MiB, under the gateway's 10
    body = {"model": "mode:normal", "messages": [{"role": "user", "content": content}]}

    response = APIClient().post(
        "/v1/chat/completions", body, format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code < 500, response.content[:300]
    assert response.status_code != 413
