"""`routing.services.complete`: the one way into a model, end to end against the fake."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from routing.errors import (
    ProviderOutOfCredits,
    ProviderUnavailable,
    RoutingError,
    StreamInterrupted,
)
from routing.models import BudgetReservation, CostSource, ModelCall, ModelHealth, Outcome
from routing.providers import OFFLINE_MODEL
from routing.services import CostTracker, complete, stream_completion
from routing.types import Delta
from tests.routing.fake_openrouter import FakeOpenRouter, completion, error, streamed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]

ASK = [{"role": "user", "content": "Summarise the open tasks."}]


def test_offline_provider_is_the_default_and_labelled(settings: Any) -> None:
    settings.ROUTING_PROVIDER = "auto"
    settings.OPENROUTER_API_KEY = ""
    settings.OPENAI_COMPATIBLE_BASE_URL = ""

    result = complete(mode="normal", messages=ASK, session_ref="chat:1")

    assert result.provider == "offline"
    assert result.provider_label == "offline (rule-based)"
    assert result.content.startswith("[offline (rule-based)]")
    assert result.cost == Decimal("0")
    call = ModelCall.objects.get()
    assert (call.provider, call.model, call.outcome) == ("offline", OFFLINE_MODEL, Outcome.OK)
    assert call.session_ref == "chat:1"


def test_reported_cost_is_recorded_exactly(openrouter_settings: FakeOpenRouter) -> None:
    openrouter_settings.script(
        completion(
            "Three tasks are open.",
            model="openai/gpt-4o-mini",
            cost="0.0123456789",
            prompt_tokens=321,
            completion_tokens=54,
        )
    )

    result = complete(mode="ops", messages=ASK, session_ref="chat:7", source="chat")

    assert result.content == "Three tasks are open."
    assert result.provider == "openrouter"
    assert result.cost == Decimal("0.0123456789")  # the ledger keeps 12 places
    call = ModelCall.objects.get(pk=result.call_id)
    assert call.cost == Decimal("0.0123456789")
    assert call.cost_source == CostSource.PROVIDER
    assert (call.prompt_tokens, call.completion_tokens, call.total_tokens) == (321, 54, 375)
    assert (call.mode, call.source, call.model) == ("ops", "chat", "openai/gpt-4o-mini")
    assert call.estimated_cost > 0
    assert not BudgetReservation.objects.exists()


def test_cost_is_computed_from_prices_when_not_reported(
    openrouter_settings: FakeOpenRouter,
) -> None:
    # gpt-4o-mini: $0.15 per million prompt tokens, $0.60 per million completion tokens.
    openrouter_settings.script(
        completion("ok", model="openai/gpt-4o-mini", prompt_tokens=1000, completion_tokens=500)
    )

    result = complete(mode="ops", messages=ASK)

    assert result.cost == Decimal("0.00045")
    assert ModelCall.objects.get().cost_source == CostSource.COMPUTED


def test_spend_adds_up_to_the_cent(openrouter_settings: FakeOpenRouter) -> None:
    for cost in ("0.1", "0.2", "0.3"):
        openrouter_settings.script(completion("ok", model="openai/gpt-4o-mini", cost=cost))
        complete(mode="deep_research", messages=ASK, session_ref="chat:9", model="openai/gpt-4o")

    spent = CostTracker().spend(session_ref="chat:9")

    assert spent == Decimal("0.6")  # 0.1 + 0.2 + 0.3 in floats is 0.6000000000000001
    assert CostTracker().spend_today(mode="deep_research") == Decimal("0.6")


def test_falls_back_to_the_next_model_when_one_fails(compatible_settings: FakeOpenRouter) -> None:
    compatible_settings.script(
        error(502, "Model is down"), completion("from gpt-4o", model="openai/gpt-4o")
    )

    result = complete(mode="code", messages=ASK)

    assert result.content == "from gpt-4o"
    assert result.fallbacks_tried == ["anthropic/claude-3.5-sonnet"]
    first, second = (p.body for p in compatible_settings.posts)
    assert first["model"] == "anthropic/claude-3.5-sonnet"
    assert second["model"] == "openai/gpt-4o"
    assert "models" not in second  # this server has no fallback of its own
    rows = list(
        ModelCall.objects.order_by("id").values_list("requested_model", "outcome", "error_code")
    )
    assert rows == [
        ("anthropic/claude-3.5-sonnet", "error", "upstream_unavailable"),
        ("openai/gpt-4o", "ok", ""),
    ]
    assert ModelHealth.objects.get(pk="anthropic/claude-3.5-sonnet").consecutive_failures == 1


def test_openrouter_falls_back_itself_and_is_not_asked_again(
    openrouter_settings: FakeOpenRouter,
) -> None:
    """OpenRouter tried every model of `models` before it answered 502: asking it again with
    the rest of the list would repeat what it did (issue 15: 9 upstream calls per request)."""
    openrouter_settings.script(error(502, "Every model is down"))

    with pytest.raises(ProviderUnavailable):
        complete(mode="code", messages=ASK)

    (post,) = openrouter_settings.posts
    assert post.body["models"] == [
        "anthropic/claude-3.5-sonnet",
        "openai/gpt-4o",
        "deepseek/deepseek-chat",
    ]


def test_no_fallback_when_the_account_has_no_credits(openrouter_settings: FakeOpenRouter) -> None:
    openrouter_settings.script(error(402, "Insufficient credits"))

    with pytest.raises(ProviderOutOfCredits):
        complete(mode="code", messages=ASK)

    assert len(openrouter_settings.posts) == 1
    call = ModelCall.objects.get()
    assert call.outcome == Outcome.ERROR and call.error_code == "upstream_out_of_credits"
    assert not ModelHealth.objects.exists()  # not the model's fault
    assert not BudgetReservation.objects.exists()


def test_streaming_hands_over_deltas_and_records_time_to_first_token(
    openrouter_settings: FakeOpenRouter,
) -> None:
    openrouter_settings.script(
        streamed(["Three ", "tasks."], model="openai/gpt-4o-mini", cost="0.0002")
    )
    seen: list[Delta] = []

    result = complete(mode="ops", messages=ASK, stream=True, on_delta=seen.append)

    assert "".join(d.text for d in seen) == "Three tasks." == result.content
    call = ModelCall.objects.get()
    assert call.stream is True
    assert call.first_token_ms is not None
    assert call.cost == Decimal("0.0002")


def test_no_fallback_once_part_of_the_answer_was_sent(openrouter_settings: FakeOpenRouter) -> None:
    openrouter_settings.script(streamed(["Half an ", "answer"], drop_after=5))
    seen: list[Delta] = []

    with pytest.raises(StreamInterrupted):
        complete(mode="code", messages=ASK, stream=True, on_delta=seen.append)

    assert seen  # the caller saw part of it: a silent retry would repeat it
    assert len(openrouter_settings.posts) == 1
    assert not BudgetReservation.objects.exists()


def test_fallback_when_the_stream_fails_before_any_output(
    compatible_settings: FakeOpenRouter,
) -> None:
    compatible_settings.script(
        streamed([], error_after=3),
        streamed(["fine"], model="openai/gpt-4o"),
    )

    result = complete(mode="code", messages=ASK, stream=True)

    assert result.content == "fine"
    assert (
        ModelCall.objects.filter(outcome=Outcome.ERROR, error_code="upstream_stream_error").count()
        == 1
    )


def test_a_stream_abandoned_by_its_reader_is_settled(openrouter_settings: FakeOpenRouter) -> None:
    openrouter_settings.script(
        streamed(["one ", "two ", "three ", "four"], model="openai/gpt-4o-mini")
    )

    stream = stream_completion(mode="ops", messages=ASK, session_ref="chat:3")
    next(iter(stream))
    stream.close()

    call = ModelCall.objects.get()
    assert (call.outcome, call.error_code) == (Outcome.ERROR, "abandoned")
    assert not BudgetReservation.objects.exists()


def test_a_reader_that_fails_midway_closes_the_stream_and_settles(
    openrouter_settings: FakeOpenRouter,
) -> None:
    openrouter_settings.script(
        streamed(["one ", "two ", "three ", "four"], model="openai/gpt-4o-mini")
    )

    def fail_on_second(delta: Delta) -> None:
        if delta.text == "two ":
            raise RuntimeError("the reader broke")

    with pytest.raises(RuntimeError, match="the reader broke"):
        complete(mode="ops", messages=ASK, stream=True, on_delta=fail_on_second)

    call = ModelCall.objects.get()
    assert (call.outcome, call.error_code) == (Outcome.ERROR, "abandoned")
    assert call.completion_tokens > 0  # charged for what it was sent
    assert not BudgetReservation.objects.exists()


def test_openai_compatible_server_by_base_url(
    settings: Any, fake_openrouter: FakeOpenRouter
) -> None:
    settings.ROUTING_PROVIDER = "auto"
    settings.OPENROUTER_API_KEY = ""
    settings.OPENAI_COMPATIBLE_BASE_URL = fake_openrouter.base_url
    settings.OPENAI_COMPATIBLE_API_KEY = "local-key"
    fake_openrouter.script(completion("from a local server", model="openai/gpt-4o-mini"))

    result = complete(mode="ops", messages=ASK)

    assert result.provider == "openai_compatible"
    body = fake_openrouter.posts[0].body
    assert "models" not in body and "provider" not in body  # OpenRouter's extensions only
    assert fake_openrouter.posts[0].headers["Authorization"] == "Bearer local-key"


def test_a_session_reference_too_long_to_store_is_refused(settings: Any) -> None:
    settings.ROUTING_PROVIDER = "offline"

    with pytest.raises(RoutingError, match="at most 200 characters"):
        complete(mode="normal", messages=ASK, session_ref="x" * 201)
