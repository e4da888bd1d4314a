"""Budgets on real cost: each call reserves the worst case it can cost, settles what it did
cost, and a cost a provider reports above that worst case is recorded whole and stops the
calls that follow (issue 15: a session ended at $0.60 of a $0.50 ceiling)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from routing.errors import BudgetExceeded
from routing.models import ModelCall, Outcome
from routing.providers import OpenRouterProvider
from routing.services import CostTracker, complete
from routing.tokens import estimate_tokens, max_prompt_tokens
from tests.routing.factories import ModelPriceFactory, PolicyFactory, spend
from tests.routing.fake_openrouter import FakeOpenRouter, completion

pytestmark = pytest.mark.django_db

# 2,000 characters of three UTF-8 bytes each: about 576 tokens by the 3.5-characters rule, up
# to 6,000 by the bytes (a tokenizer may give each its own token or two).
WIDE = [{"role": "user", "content": "漢" * 2000}]
SESSION = "chat:77"


@pytest.fixture(autouse=True)
def priced_prompt() -> None:
    """Prompt tokens at $0.00001; one completion token at no cost; a $0.50 session."""
    ModelPriceFactory(
        model_id="test/primary", prompt_price=Decimal("0.00001"), completion_price=Decimal(0)
    )
    PolicyFactory(
        mode="normal",
        model="test/primary",
        fallback_models=[],
        max_output_tokens=1,
        session_ceiling=Decimal("0.50"),
        daily_ceiling=Decimal("100"),
    )


def test_the_worst_case_is_reserved_not_the_typical_estimate() -> None:
    typical, worst = estimate_tokens(WIDE), max_prompt_tokens(WIDE)

    assert typical < 600 and worst >= 6000  # bytes, never fewer tokens than a tokenizer makes


def test_a_call_whose_real_cost_could_pass_the_ceiling_is_refused_before_it_is_sent(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    spend(cost="0.45", session_ref=SESSION)  # $0.05 left; the prompt may cost $0.06

    with pytest.raises(BudgetExceeded):
        complete(mode="normal", messages=WIDE, session_ref=SESSION, provider=openrouter)

    assert fake_openrouter.posts == []
    assert CostTracker().spend(session_ref=SESSION) == Decimal("0.45")


def test_a_call_that_fits_its_worst_case_never_takes_the_session_past_its_ceiling(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    spend(cost="0.40", session_ref=SESSION)
    # The provider counts every character as three tokens: as bad as it gets.
    fake_openrouter.script(completion("ok", model="test/primary", prompt_tokens=6000))

    result = complete(mode="normal", messages=WIDE, session_ref=SESSION, provider=openrouter)

    assert result.cost == Decimal("0.06")
    call = ModelCall.objects.get(pk=result.call_id)
    assert call.estimated_cost >= call.cost and call.overrun == 0
    assert CostTracker().spend(session_ref=SESSION) == Decimal("0.46")


def test_a_reported_cost_above_the_reservation_is_recorded_whole_and_stops_further_calls(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    ask = [{"role": "user", "content": "hi"}]
    spend(cost="0.45", session_ref=SESSION)
    fake_openrouter.script(completion("ok", model="test/primary", cost="0.09"))

    result = complete(mode="normal", messages=ask, session_ref=SESSION, provider=openrouter)

    call = ModelCall.objects.get(pk=result.call_id)
    assert call.cost == Decimal("0.09")  # never clipped to what was reserved
    assert call.overrun == call.cost - call.estimated_cost > 0
    assert CostTracker().spend(session_ref=SESSION) == Decimal("0.54")
    with pytest.raises(BudgetExceeded):
        complete(mode="normal", messages=ask, session_ref=SESSION, provider=openrouter)
    assert len(fake_openrouter.posts) == 1
    assert ModelCall.objects.filter(outcome=Outcome.REFUSED).count() == 1


def test_past_its_ceiling_a_session_refuses_even_a_call_that_costs_nothing(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    ModelPriceFactory(model_id="test/primary", prompt_price=0, completion_price=0)
    spend(cost="0.51", session_ref=SESSION, overrun="0.02")

    with pytest.raises(BudgetExceeded):
        complete(mode="normal", messages=WIDE, session_ref=SESSION, provider=openrouter)

    assert fake_openrouter.posts == []
