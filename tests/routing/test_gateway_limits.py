"""The gateway's limits, tried as the plain user would (issue 14): whose session a call may
charge, how many calls a token and a policy get, how large a body may be, what text the
ledger can store. Over real HTTP (a live server) and through the ASGI fast path."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
import requests

from chat.models import ChatSession
from engine.services import create_api_token
from routing.gateway.asgi import GatewayFastPath
from routing.models import ModelCall
from routing.services import CostTracker
from tests.factories import UserFactory
from tests.routing.fake_openrouter import FakeOpenRouter, completion
from tests.routing.test_gateway_asgi import call

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("routing_defaults", "openrouter_settings"),
]

ASK = [{"role": "user", "content": "What failed last night?"}]


@pytest.fixture
def gateway(live_server: Any) -> str:
    return f"{live_server.url}/v1/chat/completions"


@pytest.fixture
def plain_user() -> Any:
    return UserFactory(username="plain")


@pytest.fixture
def plain_token(plain_user: Any) -> str:
    return create_api_token(user=plain_user, name="plain")[1]


def settled(request_id: str) -> ModelCall:
    """A call's ledger row: written just after its answer is sent, so wait a little."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = ModelCall.objects.filter(request_id=request_id).first()
        if row is not None:
            return row
        time.sleep(0.01)
    raise AssertionError(f"{request_id} never reached the ledger")


def post(url: str, token: str, body: dict[str, Any], **headers: str) -> requests.Response:
    return requests.post(
        url, json=body, headers={"Authorization": f"Bearer {token}", **headers}, timeout=20
    )


def test_a_caller_cannot_charge_another_users_chat_session(
    gateway: str, plain_token: str, openrouter_settings: FakeOpenRouter
) -> None:
    """Issue 14: three calls by the plain user spent admin's chat session's whole budget."""
    admins = ChatSession.objects.create(owner=UserFactory(username="admin"), mode="ops")

    by_header = post(
        gateway,
        plain_token,
        {"model": "mode:ops", "messages": ASK},
        **{"X-Juggernaut-Session": admins.ref},
    )
    by_user = post(gateway, plain_token, {"model": "mode:ops", "messages": ASK, "user": admins.ref})

    for response in (by_header, by_user):
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert (error["code"], error["param"]) == ("session_not_owned", "user")
    assert openrouter_settings.posts == []
    assert CostTracker().spend(session_ref=admins.ref) == 0


def test_a_caller_charges_its_own_chat_session_and_the_ledger_names_it(
    gateway: str, plain_user: Any, plain_token: str, openrouter_settings: FakeOpenRouter
) -> None:
    mine = ChatSession.objects.create(owner=plain_user, mode="ops")
    openrouter_settings.script(completion("ok", model="openai/gpt-4o-mini", cost="0.003"))

    response = post(gateway, plain_token, {"model": "mode:ops", "messages": ASK, "user": mine.ref})

    assert response.status_code == 200, response.text
    row = settled(response.json()["id"])
    assert (row.session_ref, row.user_id, row.api_token_prefix) == (
        mine.ref,
        plain_user.pk,
        plain_token[:10],
    )
    assert CostTracker().spend(session_ref=mine.ref) == Decimal("0.003")


def test_free_form_sessions_are_each_callers_own(
    gateway: str, plain_user: Any, plain_token: str, openrouter_settings: FakeOpenRouter
) -> None:
    other = UserFactory(username="other")
    other_token = create_api_token(user=other, name="other")[1]
    for token in (plain_token, other_token):
        response = post(
            gateway, token, {"model": "mode:ops", "messages": ASK, "user": "nightly-run"}
        )
        assert response.status_code == 200, response.text
        settled(response.json()["id"])

    assert sorted(ModelCall.objects.values_list("session_ref", flat=True)) == sorted(
        [f"gateway:{plain_user.pk}:nightly-run", f"gateway:{other.pk}:nightly-run"]
    )


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [("user", "run\x00one", "user"), ("model", "openai/gpt-4o-mini\x00", "model")],
)
def test_a_nul_in_a_stored_field_is_a_400_not_a_500(
    gateway: str, plain_token: str, field: str, value: str, param: str
) -> None:
    body = {"model": "mode:ops", "messages": ASK, field: value}

    response = post(gateway, plain_token, body, **{"X-Juggernaut-Mode": "ops"})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_a_body_over_djangos_limit_is_a_413_both_ways_in(
    gateway: str, plain_token: str, settings: Any
) -> None:
    """Issue 14: between 2.5 MiB (DATA_UPLOAD_MAX_MEMORY_SIZE) and the fast path's old 10 MiB
    the gateway answered 500. Django's limit is now the server's (REQUEST_MAX_BODY_BYTES);
    at Django's own default the answer past it must still be a 413 in OpenAI's shape."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    big = {"model": "mode:ops", "messages": [{"role": "user", "content": "x" * 3_000_000}]}
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < len(json.dumps(big)) < 10 * 1024 * 1024

    live = post(gateway, plain_token, big)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the gateway serves /v1/ itself")

    app = GatewayFastPath(inner)
    try:
        status, _, content = call(app, "/v1/chat/completions", body=big, token=plain_token)
    finally:
        app.close()
    assert live.status_code == 413, live.text[:300]
    assert status == 413
    for error in (live.json()["error"], json.loads(content)["error"]):
        assert error["code"] == "request_too_large" and error["type"] == "invalid_request_error"


def test_a_token_over_its_rate_gets_a_429_with_retry_after(
    gateway: str, plain_token: str, settings: Any, openrouter_settings: FakeOpenRouter
) -> None:
    settings.GATEWAY_TOKEN_THROTTLE_RATE = "3/min"
    other_token = create_api_token(user=UserFactory(), name="other")[1]
    answers = [post(gateway, plain_token, {"model": "mode:ops", "messages": ASK}) for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert "GATEWAY_TOKEN_THROTTLE_RATE" in refused.json()["error"]["message"]
    assert len(openrouter_settings.posts) == 3  # the refused call was never sent
    assert post(gateway, other_token, {"model": "mode:ops", "messages": ASK}).status_code == 200


def test_a_policy_over_its_rate_refuses_every_caller_of_that_mode(
    gateway: str, plain_token: str, settings: Any
) -> None:
    settings.GATEWAY_POLICY_THROTTLE_RATE = "2/min"
    other_token = create_api_token(user=UserFactory(), name="other")[1]

    codes = [
        post(gateway, token, {"model": "mode:ops", "messages": ASK}).status_code
        for token in (plain_token, other_token, other_token)
    ]
    normal = post(gateway, other_token, {"model": "mode:normal", "messages": ASK})

    assert codes == [200, 200, 429]
    assert normal.status_code == 200  # another policy counts on its own
