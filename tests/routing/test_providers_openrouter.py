"""OpenRouter's wire format, against a real local HTTP server that answers as OpenRouter does."""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal
from typing import Any

import pytest
import requests

from routing.errors import (
    NoProviderForConstraints,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderOutOfCredits,
    ProviderRateLimited,
    ProviderStreamError,
    ProviderTimeout,
    ProviderUnavailable,
    StreamInterrupted,
)
from routing.providers import OpenRouterProvider
from routing.providers.http import DRAIN_SECONDS
from routing.types import Delta, ProviderRequest, ProviderResult
from tests.routing.conftest import API_KEY
from tests.routing.fake_openrouter import FakeOpenRouter, Reply, completion, error, streamed

MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def run(
    provider: OpenRouterProvider, request: ProviderRequest
) -> tuple[list[Delta], ProviderResult]:
    deltas: list[Delta] = []
    sending = provider.send(request)
    while True:
        try:
            deltas.append(next(sending))
        except StopIteration as stop:
            return deltas, stop.value


def request(**overrides: Any) -> ProviderRequest:
    fields: dict[str, Any] = {
        "model": "anthropic/claude-3.5-sonnet",
        "messages": MESSAGES,
        "fallback_models": ["openai/gpt-4o", "deepseek/deepseek-chat"],
        "max_tokens": 256,
        "max_price_per_1k": Decimal("0.03"),
    }
    fields.update(overrides)
    return ProviderRequest(**fields)


def test_plain_completion_sends_what_openrouter_expects(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(completion("Sunny.", model="openai/gpt-4o", cost="0.00123"))

    deltas, result = run(openrouter, request(tools=[WEATHER_TOOL]))

    assert deltas == []
    assert result.content == "Sunny."
    assert result.model == "openai/gpt-4o"
    assert result.usage.cost == Decimal("0.00123")
    sent = fake_openrouter.posts[0]
    assert sent.path == "/api/v1/chat/completions"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["HTTP-Referer"] == "https://juggernaut.example"
    assert sent.headers["X-Title"] == "Juggernaut tests"
    assert sent.headers["User-Agent"].startswith("juggernaut python-requests/")
    body = sent.body
    assert body["model"] == "anthropic/claude-3.5-sonnet"
    assert body["models"] == [
        "anthropic/claude-3.5-sonnet",
        "openai/gpt-4o",
        "deepseek/deepseek-chat",
    ]
    # $0.03 per 1k tokens is $30 per million, the unit OpenRouter's max_price takes.
    assert body["provider"] == {
        "max_price": {"prompt": 30, "completion": 30},
        "require_parameters": True,
    }
    assert body["usage"] == {"include": True}
    assert body["max_tokens"] == 256
    assert body["tools"] == [WEATHER_TOOL]
    assert body["stream"] is False


def test_fractional_price_cap_is_sent_as_a_number(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    run(openrouter, request(max_price_per_1k=Decimal("0.0015")))

    assert fake_openrouter.posts[0].body["provider"]["max_price"] == {
        "prompt": 1.5,
        "completion": 1.5,
    }


def test_stream_skips_comments_and_assembles_split_tool_calls(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    arguments = json.dumps({"city": "Paris", "unit": "celsius"})
    fake_openrouter.script(
        streamed(
            ["Let me ", "check."],
            tool_calls=[{"id": "call_abc", "name": "get_weather", "arguments": arguments}],
            prompt_tokens=40,
            completion_tokens=18,
            cost="0.000354",
            comments=3,
        )
    )

    deltas, result = run(openrouter, request(stream=True, tools=[WEATHER_TOOL]))

    assert fake_openrouter.posts[0].body["stream"] is True
    assert [d.text for d in deltas if d.text] == ["Let me ", "check."]
    fragments = [d.tool_call for d in deltas if d.tool_call]
    assert len(fragments) == 4  # the head, then the arguments in three pieces
    assert fragments[0].id == "call_abc" and fragments[0].name == "get_weather"
    assert "".join(f.arguments for f in fragments) == arguments
    assert result.content == "Let me check."
    assert [(c.id, c.name, c.parsed_arguments()) for c in result.tool_calls] == [
        ("call_abc", "get_weather", {"city": "Paris", "unit": "celsius"})
    ]
    assert result.finish_reason == "tool_calls"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (40, 18)
    assert result.usage.cost == Decimal("0.000354")


def test_two_tool_calls_interleaved_by_index(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(
        streamed(
            tool_calls=[
                {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
                {"id": "call_2", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
            ]
        )
    )

    _, result = run(openrouter, request(stream=True))

    assert [c.parsed_arguments()["city"] for c in result.tool_calls] == ["Paris", "Oslo"]
    assert [c.id for c in result.tool_calls] == ["call_1", "call_2"]


def test_a_finished_stream_leaves_its_connection_for_the_next_call(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(streamed(["first"]), completion("second"))

    run(openrouter, request(stream=True))
    run(openrouter, request())

    first, second = fake_openrouter.posts
    assert first.client_port == second.client_port  # kept alive, not opened anew


def test_a_stream_cut_after_its_done_keeps_the_finished_answer(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    """What follows [DONE] is read only to keep the connection; losing it loses no answer."""
    reply = streamed(["one ", "two"], cost="0.0003")
    assert reply.events is not None
    reply.events.append(": trailing\n\n")
    reply.drop_after = len(reply.events) - 1  # [DONE] is out, then the socket closes mid-body
    fake_openrouter.script(reply)

    _, result = run(openrouter, request(stream=True))

    assert (result.content, result.usage.cost) == ("one two", Decimal("0.0003"))


def test_a_server_holding_the_body_open_after_done_is_not_waited_out(
    fake_openrouter: FakeOpenRouter,
) -> None:
    reply = streamed(["one ", "two"])
    reply.linger = 30  # [DONE] is out; the body's end would come 30 s later
    fake_openrouter.script(reply)
    patient = OpenRouterProvider(base_url=fake_openrouter.base_url, read_timeout=60)
    started = time.monotonic()

    _, result = run(patient, request(stream=True))

    assert result.content == "one two"
    assert time.monotonic() - started < DRAIN_SECONDS + 5  # not the read timeout, nor 30 s


def test_402_says_to_add_credits_and_is_not_retried(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> None:
    fake_openrouter.script(error(402, "Insufficient credits"))

    with pytest.raises(ProviderOutOfCredits, match="Add credits") as caught:
        run(openrouter, request())

    assert caught.value.fallback is False
    assert len(fake_openrouter.posts) == 1
    assert sleeps == []


def test_a_redirect_is_an_error_and_never_followed_as_a_get(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    # requests would follow a 301 or 302 for a POST by sending a GET, losing the body.
    moved = error(301, "Moved")
    moved.headers["Location"] = "/api/v2/chat/completions"
    fake_openrouter.script(moved)

    with pytest.raises(ProviderBadRequest, match="301"):
        run(openrouter, request())

    assert [(r.method, r.path) for r in fake_openrouter.requests] == [
        ("POST", "/api/v1/chat/completions")
    ]


def test_401_names_the_setting_and_never_the_key(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(error(401, "No auth credentials found"))

    with pytest.raises(ProviderAuthError) as caught:
        run(openrouter, request())

    assert "rejected the API key" in str(caught.value)
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(openrouter)


def test_the_key_never_reaches_the_logs(
    openrouter: OpenRouterProvider,
    fake_openrouter: FakeOpenRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 and requests log every request at DEBUG
    fake_openrouter.script(
        error(401, "No auth credentials found"),
        error(402, "Insufficient credits"),
        streamed(["cut"], drop_after=3),
        completion("fine"),
    )

    for stream in (False, False, True):
        with pytest.raises(ProviderError):
            run(openrouter, request(stream=stream))
    run(openrouter, request())

    assert caplog.records  # the loggers did speak
    assert all(API_KEY not in record.getMessage() for record in caplog.records)


def test_429_waits_as_long_as_retry_after_says_then_succeeds(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> None:
    fake_openrouter.script(
        error(429, "Rate limit exceeded", retry_after="3"), completion("after the wait")
    )

    _, result = run(openrouter, request())

    assert result.content == "after the wait"
    assert result.attempts == 2
    assert sleeps == [3.0]
    assert len(fake_openrouter.posts) == 2


def test_429_with_a_wait_longer_than_allowed_gives_up_at_once(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> None:
    fake_openrouter.script(error(429, "Slow down", retry_after="120"))

    with pytest.raises(ProviderRateLimited) as caught:
        run(openrouter, request())

    assert caught.value.retry_after == 120.0
    assert sleeps == []


def test_502_is_retried_with_exponential_backoff(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> None:
    fake_openrouter.script(error(502, "Bad gateway"), error(500, "Oops"), completion("third time"))

    _, result = run(openrouter, request())

    assert result.content == "third time"
    assert result.attempts == 3
    assert sleeps == [0.5, 1.0]


def test_5xx_that_never_recovers_raises_after_the_retries(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> None:
    fake_openrouter.default = error(502, "Model is down")

    with pytest.raises(ProviderUnavailable, match="502") as caught:
        run(openrouter, request())

    assert caught.value.attempts == 3
    assert len(fake_openrouter.posts) == 3


def test_503_means_no_provider_meets_the_constraints_and_is_not_retried(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> None:
    fake_openrouter.script(error(503, "No endpoints found matching your data policy"))

    with pytest.raises(NoProviderForConstraints, match="price cap"):
        run(openrouter, request())

    assert sleeps == []
    assert len(fake_openrouter.posts) == 1


def test_error_inside_a_200_stream_is_an_error(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(streamed(["Partial ", "answer"], error_after=4))

    with pytest.raises(ProviderStreamError, match="Provider disconnected"):
        run(openrouter, request(stream=True))


def test_connection_dropped_mid_stream_is_an_interruption(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(streamed(["one ", "two ", "three"], drop_after=4))

    with pytest.raises(StreamInterrupted, match="closed the stream"):
        run(openrouter, request(stream=True))


def test_stream_that_ends_without_finishing_is_an_interruption(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    reply = streamed(["one ", "two"])
    assert reply.events is not None
    reply.events = reply.events[:-3]  # no finish_reason, no usage, no [DONE]
    fake_openrouter.script(reply)

    with pytest.raises(StreamInterrupted, match="before it finished"):
        run(openrouter, request(stream=True))


def test_slow_answer_times_out_and_is_not_retried(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> None:
    openrouter.timeout = (2.0, 0.2)
    fake_openrouter.script(completion("too late", delay=2))

    with pytest.raises(ProviderTimeout, match=r"no answer within 0\.2s"):
        run(openrouter, request())

    assert sleeps == []


def test_a_stream_kept_open_with_comments_ends_at_the_stream_deadline(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> None:
    # Each wait is short (well inside the read timeout), but the answer never finishes.
    openrouter.stream_timeout = 0.3
    fake_openrouter.script(streamed(["never"], comments=40, event_delay=0.02))

    with pytest.raises(ProviderTimeout, match=r"did not finish the answer within 0\.3s"):
        run(openrouter, request(stream=True))

    assert sleeps == []


def test_a_stream_that_finishes_inside_the_deadline_is_whole(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    openrouter.stream_timeout = 5
    fake_openrouter.script(streamed(["all ", "there"], comments=3, event_delay=0.01))

    _, result = run(openrouter, request(stream=True))

    assert result.content == "all there"


def test_the_chunk_that_ends_the_answer_counts_though_it_came_after_the_deadline(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    openrouter.stream_timeout = 0.1
    whole = {
        "id": "gen-late",
        "model": "openai/gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": "late but whole"}, "finish_reason": "stop"}],
    }
    fake_openrouter.script(
        Reply(events=[f"data: {json.dumps(whole)}\n\n", "data: [DONE]\n\n"], event_delay=0.3)
    )

    _, result = run(openrouter, request(stream=True))

    assert (result.content, result.finish_reason) == ("late but whole", "stop")


def test_unreachable_server_is_retried_then_unavailable(sleeps: list[float]) -> None:
    provider = OpenRouterProvider(
        base_url="http://127.0.0.1:9/api/v1", api_key=API_KEY, sleep=sleeps.append
    )

    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        run(provider, request())

    assert sleeps == [0.5, 1.0]


def provider_on(fake: FakeOpenRouter, session: requests.Session) -> OpenRouterProvider:
    return OpenRouterProvider(
        base_url=fake.base_url, read_timeout=10, max_retries=0, session=session
    )


def test_the_drain_timeout_does_not_reach_the_next_streamed_call_on_the_connection(
    fake_openrouter: FakeOpenRouter,
) -> None:
    first = streamed(["one ", "two"])
    first.linger = DRAIN_SECONDS / 4  # the drain reads on, under the short timeout, and ends
    slow = streamed(["three"])
    slow.delay = DRAIN_SECONDS + 1.5  # slower than the drain's timeout, well within 10 s
    fake_openrouter.script(first, slow)
    with requests.Session() as session:
        provider = provider_on(fake_openrouter, session)
        _, one = run(provider, request(stream=True))
        _, two = run(provider, request(stream=True))

    assert (one.content, two.content) == ("one two", "three")
    ports = [r.client_port for r in fake_openrouter.posts]
    assert ports[0] == ports[1]  # the same kept-alive connection, so its socket was reused


def test_the_drain_timeout_does_not_reach_a_plain_call_on_the_connection(
    fake_openrouter: FakeOpenRouter,
) -> None:
    fake_openrouter.script(streamed(["one"]), completion("late", delay=DRAIN_SECONDS + 1.5))
    with requests.Session() as session:
        provider = provider_on(fake_openrouter, session)
        run(provider, request(stream=True))
        _, plain = run(provider, request(stream=False))

    assert plain.content == "late"
    ports = [r.client_port for r in fake_openrouter.posts]
    assert ports[0] == ports[1]
