"""Bad input to the gateway, over real HTTP: every mistake is a 4xx in OpenAI's error shape
that names the field, and a fault of ours is a 500 in that shape too, never an HTML page."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from routing.models import ModelCall, Outcome, Policy
from tests.routing.fake_openrouter import FakeOpenRouter, completion, streamed
from tests.routing.test_gateway import ASK, gateway, post, settled_call, sse_payloads, token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]
__all__ = ["gateway", "token"]  # fixtures, shared with test_gateway

TOOL = {"type": "function", "function": {"name": "list_tasks", "parameters": {"type": "object"}}}


def offline(settings: Any) -> None:
    settings.OPENROUTER_API_KEY = ""


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": ["x"]}, "tools[0].function"),
        ({"tools": [TOOL, {"type": "function"}]}, "tools[1].function"),
        ({"tools": [{"function": {"name": 5}}]}, "tools[0].function"),
        (
            {"tools": [{"function": {"name": "t", "parameters": "x"}}]},
            "tools[0].function.parameters",
        ),
        ({"n": 2}, "n"),
        ({"n": "1"}, "n"),
        ({"n": 2, "stream": True}, "n"),
    ],
)
def test_malformed_options_name_the_field(
    gateway: str, token: str, settings: Any, extra: dict[str, Any], param: str
) -> None:
    offline(settings)  # the provider that used to crash on them

    response = post(gateway, token, {"model": "mode:ops", "messages": ASK, **extra})

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["param"], error["type"]) == (param, "invalid_request_error")


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ({"role": "user", "content": 5}, "messages[0].content"),
        ({"role": "user", "content": ["text"]}, "messages[0].content"),
        ({"role": "assistant", "content": None, "tool_calls": "x"}, "messages[0].tool_calls"),
        (
            {"role": "assistant", "tool_calls": [{"id": "c1", "function": "list_tasks"}]},
            "messages[0].tool_calls[0].function",
        ),
        (
            {"role": "assistant", "tool_calls": [{"function": {"name": "t", "arguments": {}}}]},
            "messages[0].tool_calls[0].function",
        ),
    ],
)
def test_malformed_messages_name_the_field(
    gateway: str, token: str, settings: Any, message: dict[str, Any], param: str
) -> None:
    offline(settings)

    response = post(gateway, token, {"model": "mode:ops", "messages": [message, *ASK]})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(
    "extra",
    [
        {"n": 1},
        {"n": None},
        {"tools": [{"type": "function", "function": {"name": "list_tasks", "parameters": None}}]},
        {"tools": [{"type": "function", "function": {"name": "list_tasks"}}]},
    ],
)
def test_what_openai_accepts_is_accepted(
    gateway: str, token: str, settings: Any, extra: dict[str, Any]
) -> None:
    offline(settings)

    response = post(gateway, token, {"model": "mode:ops", "messages": ASK, **extra})

    assert response.status_code == 200, response.text


def test_json_nested_too_deeply_is_a_400(gateway: str, token: str) -> None:
    response = requests.post(
        f"{gateway}/chat/completions",
        data=b"[" * 100_000 + b"]" * 100_000,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_tool_schema_the_offline_provider_cannot_use_still_gets_an_answer(
    gateway: str, token: str, settings: Any
) -> None:
    offline(settings)
    odd = {
        "type": "object",
        "properties": {"limit": {"type": "integer", "minimum": "x"}, "q": {"maxLength": "abc"}},
        "required": ["limit", "q", 7],
    }
    tools = [{"type": "function", "function": {"name": "list_tasks", "parameters": odd}}]

    response = post(
        gateway,
        token,
        {
            "model": "mode:ops",
            "messages": [{"role": "user", "content": "list the tasks"}],
            "tools": tools,
        },
    )

    assert response.status_code == 200, response.text
    message = response.json()["choices"][0]["message"]
    assert "tool_calls" not in message  # nothing to fill them with: no guess
    assert "could not tell its `limit` and `q`" in message["content"]

    given = post(
        gateway,
        token,
        {
            "model": "mode:ops",
            "messages": [{"role": "user", "content": 'list the tasks limit=3 q="late"'}],
            "tools": tools,
        },
    )

    assert given.status_code == 200, given.text
    call = given.json()["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"limit": 3, "q": "late"}


def test_a_model_the_policy_does_not_allow_is_refused_offline_too(
    gateway: str, token: str, settings: Any
) -> None:
    offline(settings)

    response = post(
        gateway,
        token,
        {"model": "anthropic/claude-3-opus", "messages": ASK},
        headers={"X-Juggernaut-Mode": "ops"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "model_not_allowed"
    call = settled_call()
    assert (call.mode, call.outcome, call.error_code) == ("ops", Outcome.ERROR, "model_not_allowed")


def test_a_caller_may_lower_the_policys_token_limit_but_not_raise_it(
    gateway: str, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    limit = Policy.objects.get(mode="ops").max_output_tokens
    openrouter_settings.script(completion("a"), completion("b"))

    raised = post(gateway, token, {"model": "mode:ops", "messages": ASK, "max_tokens": 10**9})
    lowered = post(gateway, token, {"model": "mode:ops", "messages": ASK, "max_tokens": 16})

    assert (raised.status_code, lowered.status_code) == (200, 200), raised.text
    sent = [post.body["max_tokens"] for post in openrouter_settings.posts]
    assert sent == [limit, 16]


def test_stream_chunks_name_what_was_asked_for_until_the_model_is_known(
    gateway: str, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    openrouter_settings.script(streamed(["Hi"], model="openai/gpt-4o-mini"))

    response = post(gateway, token, {"model": "mode:ops", "messages": ASK, "stream": True})

    chunks = [p for p in sse_payloads(response) if isinstance(p, dict)]
    assert chunks[0]["model"] == "mode:ops"
    assert chunks[-1]["model"] == "openai/gpt-4o-mini"


def test_a_fault_of_ours_is_a_500_in_openai_shape_and_lands_in_the_ledger(
    gateway: str, token: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline(settings)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in a provider")

    monkeypatch.setattr("routing.providers.offline.OfflineProvider.answer", broken)

    response = post(gateway, token, {"model": "mode:ops", "messages": ASK})

    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("server_error", "internal_error")
    assert "bug" not in error["message"]  # the traceback goes to the log, not the client
    call = ModelCall.objects.get()
    assert (call.outcome, call.error_code) == (Outcome.ERROR, "internal_error")
    assert "RuntimeError: a bug in a provider" in call.error
