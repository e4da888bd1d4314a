"""Flooding the API, as the review did: 400 calls with one token, 400 bad tokens from one
address; each must draw a 429 with Retry-After, in JSON."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from config.api.throttling import PrincipalRateThrottle
from engine.services import register_worker
from tests.factories import UserFactory, api_client_for

pytestmark = pytest.mark.django_db


def rates(settings: Any, **scopes: str | None) -> None:
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {
        **rest,
        "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], **scopes},
    }


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) >= 1
    assert "detail" in response.json()


def test_four_hundred_calls_with_one_token_draw_a_429(user: Any) -> None:
    client = api_client_for(user)

    answers = [client.get("/api/tasks/") for _ in range(400)]

    codes = [answer.status_code for answer in answers]
    assert codes[:300] == [200] * 300  # API_RATE_PER_USER's default, 300/minute
    assert set(codes[300:]) == {429}
    assert_throttled(answers[-1])


def test_a_users_tokens_and_session_share_one_budget(user: Any, settings: Any) -> None:
    rates(settings, user="4/minute")
    first, second = api_client_for(user), api_client_for(user)
    browser = APIClient()
    browser.force_login(user)

    codes = [c.get("/api/tasks/").status_code for c in (first, second, first, second)]
    assert codes == [200] * 4
    assert second.get("/api/tasks/").status_code == 429
    assert browser.get("/api/tasks/").status_code == 429
    # Another user is not held to alice's calls.
    assert api_client_for(UserFactory()).get("/api/tasks/").status_code == 200


def test_a_worker_token_has_its_own_rate(settings: Any) -> None:
    rates(settings, worker="2/minute")
    registered = register_worker(name="w-throttled", capabilities=["echo"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {registered.token}")
    url = f"/api/workers/{registered.worker.pk}/heartbeat/"

    codes = [client.post(url, {}, format="json").status_code for _ in range(3)]

    assert codes[:2] == [200, 200]
    assert codes[2] == 429


def test_four_hundred_bad_tokens_from_one_address_draw_a_429(user: Any) -> None:
    client = APIClient(REMOTE_ADDR="10.0.0.66")
    answers = []
    for n in range(400):
        client.credentials(HTTP_AUTHORIZATION=f"Token jgt_guess{n:04d}")
        answers.append(client.get("/api/tasks/"))

    codes = [answer.status_code for answer in answers]
    assert codes[:60] == [401] * 60  # API_RATE_FAILED_AUTH's default, 60/minute
    assert set(codes[60:]) == {429}
    assert_throttled(answers[-1])
    # Refused before authentication: a good token from that address waits too, one from
    # elsewhere does not.
    good = api_client_for(user)
    assert good.get("/api/tasks/", REMOTE_ADDR="10.0.0.66").status_code == 429
    assert good.get("/api/tasks/", REMOTE_ADDR="10.0.0.67").status_code == 200


def test_x_forwarded_for_does_not_buy_a_new_address(settings: Any) -> None:
    rates(settings, failed_auth="3/minute")
    client = APIClient(REMOTE_ADDR="10.0.0.66")
    client.credentials(HTTP_AUTHORIZATION="Token jgt_guess")

    codes = [
        client.get("/api/tasks/", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(5)
    ]

    assert codes == [401, 401, 401, 429, 429]


class IngestLike(APIView):
    throttle_classes = [PrincipalRateThrottle]
    throttle_scope = "ingest"

    def get(self, request: Any) -> Response:
        return Response({})


def test_a_view_naming_a_scope_takes_that_scopes_rate(user: Any, settings: Any) -> None:
    rates(settings, ingest="2/minute", user="100/minute")
    view = IngestLike.as_view()
    factory = APIRequestFactory()

    def call() -> int:
        request = factory.get("/api/logs/ingest/")
        request.user = user
        request._force_auth_user = user  # type: ignore[attr-defined]
        return int(view(request).status_code)

    assert [call() for _ in range(3)] == [200, 200, 429]


def test_a_rate_of_off_throttles_nothing(user: Any, settings: Any) -> None:
    rates(settings, user=None)
    client = api_client_for(user)

    assert {client.get("/api/tasks/").status_code for _ in range(20)} == {200}
