"""The OpenAI-compatible gateway over real HTTP: a live server in front, the fake OpenRouter
behind."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
import requests

from engine.services import create_api_token
from routing.models import ModelCall, Outcome
from routing.types import Delta
from tests.factories import UserFactory
from tests.routing.factories import spend
from tests.routing.fake_openrouter import FakeOpenRouter, completion, error, streamed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]

ASK = [{"role": "user", "content": "What failed last night?"}]


@pytest.fixture
def gateway(live_server: Any, openrouter_settings: FakeOpenRouter) -> str:
    return f"{live_server.url}/v1"


@pytest.fixture
def token() -> str:
    _, raw = create_api_token(user=UserFactory(), name="agent")
    return raw


def post(gateway: str, token: str, body: dict[str, Any], **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.post(
        f"{gateway}/chat/completions", json=body, headers=headers, timeout=10, **kwargs
    )


def settled_call() -> ModelCall:
    """The one ledger row: an answer is settled just after it is sent, so wait a little."""
    deadline = time.monotonic() + 5
    while not ModelCall.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return ModelCall.objects.get()


def sse_payloads(response: requests.Response) -> list[Any]:
    payloads = []
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("data: "):
            data = line[len("data: ") :]
            payloads.append(data if data == "[DONE]" else json.loads(data))
    return payloads


def test_no_token_is_a_401_in_openai_error_format(gateway: str) -> None:
    response = requests.post(
        f"{gateway}/chat/completions", json={"model": "mode:code", "messages": ASK}, timeout=10
    )

    assert response.status_code == 401
    error_body = response.json()["error"]
    assert error_body["code"] == "invalid_api_key"
    assert error_body["type"] == "invalid_request_error"
    assert set(error_body) == {"message", "type", "param", "code"}


def test_a_wrong_token_is_a_401(gateway: str) -> None:
    response = post(gateway, "tok_not-a-real-token", {"model": "mode:code", "messages": ASK})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_a_mode_routes_through_its_policy_and_lands_in_the_ledger(
    gateway: str, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    openrouter_settings.script(
        completion(
            "Two backups failed.",
            model="anthropic/claude-3.5-sonnet",
            cost="0.0042",
            prompt_tokens=90,
            completion_tokens=12,
        )
    )

    response = post(
        gateway,
        token,
        {"model": "mode:code", "messages": ASK, "temperature": 0.2},
        headers={"X-Juggernaut-Session": "agent-run-7"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "anthropic/claude-3.5-sonnet"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Two backups failed."}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {
        "prompt_tokens": 90,
        "completion_tokens": 12,
        "total_tokens": 102,
        "cost": 0.0042,
    }
    upstream = openrouter_settings.posts[0].body
    assert upstream["model"] == "anthropic/claude-3.5-sonnet"
    assert upstream["temperature"] == 0.2
    assert upstream["provider"]["max_price"] == {"prompt": 30, "completion": 30}
    call = settled_call()
    owner = call.user
    assert owner is not None and owner.api_tokens.get().prefix == call.api_token_prefix
    assert (call.mode, call.source, call.session_ref, call.cost) == (
        "code",
        "gateway",
        f"gateway:{owner.pk}:agent-run-7",  # the caller's own session, under their name
        Decimal("0.0042"),
    )
    assert body["id"].startswith("chatcmpl-")
    assert body["id"] == call.request_id  # the answer can be found in the ledger


def test_a_model_a_policy_allows_picks_that_policy(
    gateway: str, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    openrouter_settings.script(completion("ok", model="openai/gpt-4o"))

    response = post(gateway, token, {"model": "openai/gpt-4o", "messages": ASK})

    assert response.status_code == 200
    assert openrouter_settings.posts[0].body["model"] == "openai/gpt-4o"
    assert settled_call().mode == "deep_research"  # the first policy that lists it


def test_a_model_no_policy_allows_is_a_400(gateway: str, token: str) -> None:
    response = post(gateway, token, {"model": "openai/o1-pro", "messages": ASK})

    assert response.status_code == 400
    error_body = response.json()["error"]
    assert (error_body["code"], error_body["param"]) == ("model_not_found", "model")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "mode:code"}, "messages"),
        ({"messages": ASK}, "model"),
        ({"model": "mode:code", "messages": [{"content": "no role"}]}, "messages[0].role"),
        ({"model": "mode:code", "messages": ASK, "max_tokens": -1}, "max_tokens"),
        ({"model": "mode:turbo", "messages": ASK}, "model"),
    ],
)
def test_bad_requests_name_the_field(
    gateway: str, token: str, body: dict[str, Any], param: str
) -> None:
    response = post(gateway, token, body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_a_body_that_is_not_json_is_a_400(gateway: str, token: str) -> None:
    response = requests.post(
        f"{gateway}/chat/completions",
        data=b"{nope",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_form_body_is_a_400_and_json_is_answered_whatever_accept_says(
    gateway: str, token: str
) -> None:
    form = requests.post(
        f"{gateway}/chat/completions",
        data={"model": "mode:ops"},
        headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
        timeout=10,
    )

    assert form.status_code == 400
    assert form.headers["Content-Type"] == "application/json"
    assert form.json()["error"]["type"] == "invalid_request_error"


def test_a_spent_budget_is_a_402_before_anything_is_sent(
    gateway: str, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    spend(mode="ops", cost="1.00")

    response = post(gateway, token, {"model": "mode:ops", "messages": ASK})

    assert response.status_code == 402
    error_body = response.json()["error"]
    assert (error_body["type"], error_body["code"]) == ("insufficient_quota", "budget_exceeded")
    assert "daily ops mode ceiling of $1.00 has $0.00 left" in error_body["message"]
    assert openrouter_settings.posts == []
    assert ModelCall.objects.filter(outcome=Outcome.REFUSED).count() == 1


def test_upstream_out_of_credits_is_a_402_quota_error_as_openrouter_answers_it(
    gateway: str, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    """Issue 15: it was a 502, which SDKs report as a server error."""
    openrouter_settings.script(error(402, "Insufficient credits"))

    response = post(gateway, token, {"model": "mode:ops", "messages": ASK})

    assert response.status_code == 402
    body = response.json()["error"]
    assert (body["type"], body["code"]) == ("insufficient_quota", "upstream_out_of_credits")
    assert "Add credits" in body["message"]


def test_streaming_passes_text_and_tool_calls_through(
    gateway: str, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    arguments = json.dumps({"state": "failed"})
    openrouter_settings.script(
        streamed(
            ["Checking", " tasks."],
            model="openai/gpt-4o-mini",
            cost="0.00031",
            tool_calls=[{"id": "call_9", "name": "list_tasks", "arguments": arguments}],
        )
    )

    response = post(
        gateway,
        token,
        {
            "model": "mode:ops",
            "messages": ASK,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        stream=True,
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    payloads = sse_payloads(response)
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Checking tasks."
    fragments = [
        t for c in chunks if c["choices"] for t in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert fragments[0]["id"] == "call_9" and fragments[0]["function"]["name"] == "list_tasks"
    assert "".join(f["function"]["arguments"] for f in fragments) == arguments
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["cost"] == 0.00031
    call = settled_call()
    assert call.stream and call.cost == Decimal("0.00031")


def test_a_stream_that_fails_midway_ends_with_an_error_event(
    gateway: str, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    openrouter_settings.script(streamed(["Partial"], error_after=4))

    response = post(
        gateway, token, {"model": "mode:ops", "messages": ASK, "stream": True}, stream=True
    )

    payloads = sse_payloads(response)
    assert payloads[-1]["error"]["code"] == "upstream_stream_error"
    assert "[DONE]" not in payloads
    assert settled_call().outcome == Outcome.ERROR


def test_a_stream_refused_by_budget_is_a_plain_402(gateway: str, token: str) -> None:
    spend(mode="ops", cost="1.00")

    response = post(gateway, token, {"model": "mode:ops", "messages": ASK, "stream": True})

    assert response.status_code == 402
    assert response.json()["error"]["code"] == "budget_exceeded"


def test_models_lists_modes_and_allowed_models(gateway: str, token: str) -> None:
    response = requests.get(
        f"{gateway}/models", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )

    assert response.status_code == 200
    ids = [m["id"] for m in response.json()["data"]]
    assert ids[:4] == ["mode:normal", "mode:deep_research", "mode:code", "mode:ops"]
    assert "anthropic/claude-3-opus" in ids and "openai/gpt-4o-mini" in ids
    assert len(ids) == len(set(ids))


def test_the_offline_provider_answers_through_the_gateway_too(
    gateway: str, token: str, settings: Any
) -> None:
    settings.OPENROUTER_API_KEY = ""

    response = post(gateway, token, {"model": "mode:normal", "messages": ASK})

    assert response.status_code == 200
    assert response.json()["provider"] == "offline (rule-based)"
    assert response.json()["choices"][0]["message"]["content"].startswith("[offline (rule-based)]")


def test_a_stream_that_crashes_midway_ends_with_an_error_event_not_silently(
    gateway: str, token: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault of ours after the first chunk: the client must learn the answer is cut short
    (an OpenAI client takes a stream that simply ends for a whole answer)."""
    settings.OPENROUTER_API_KEY = ""

    def breaks_midway(self: Any, request: Any) -> Any:
        yield Delta(text="Partial ")
        raise RuntimeError("a bug in a provider")

    monkeypatch.setattr("routing.providers.offline.OfflineProvider.send", breaks_midway)

    response = post(
        gateway, token, {"model": "mode:ops", "messages": ASK, "stream": True}, stream=True
    )

    payloads = sse_payloads(response)
    assert payloads[-1]["error"]["type"] == "server_error"
    assert payloads[-1]["error"]["code"] == "internal_error"
    assert "bug" not in payloads[-1]["error"]["message"]
    assert "[DONE]" not in payloads
    call = settled_call()
    assert (call.outcome, call.error_code) == (Outcome.ERROR, "internal_error")
