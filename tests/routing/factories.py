"""Factories for routing's rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from routing.models import BudgetReservation, Mode, ModelCall, ModelPrice, Outcome, Policy
from routing.services import CostTracker
from routing.services.allowances import blocks


class _ReplacingFactory(factory.django.DjangoModelFactory):
    """Replaces a row with the same key (the migration seeds some), so the values asked for hold."""

    class Meta:
        abstract = True

    _key = "pk"

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        model_class.objects.filter(**{cls._key: kwargs[cls._key]}).delete()
        return super()._create(model_class, *args, **kwargs)


class ModelPriceFactory(_ReplacingFactory):
    class Meta:
        model = ModelPrice

    _key = "model_id"

    model_id = factory.Sequence(lambda n: f"test/model-{n}")
    name = factory.LazyAttribute(lambda o: o.model_id)
    context_length = 8192
    prompt_price = Decimal("0.000001")
    completion_price = Decimal("0.000002")
    supported_parameters = factory.LazyFunction(lambda: ["tools", "tool_choice", "max_tokens"])
    source = "test"


class PolicyFactory(_ReplacingFactory):
    class Meta:
        model = Policy

    _key = "mode"

    mode = Mode.NORMAL
    model = "test/primary"
    fallback_models = factory.LazyFunction(lambda: ["test/fallback"])
    max_price_per_1k = Decimal("0.01")
    max_iterations = 10
    max_output_tokens = 100
    session_ceiling = Decimal("1.00")
    daily_ceiling = Decimal("10.00")
    tool_permissions = factory.LazyFunction(lambda: ["read"])


class ModelCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelCall

    created_at = factory.LazyFunction(timezone.now)
    mode = Mode.NORMAL
    provider = "openrouter"
    model = "openai/gpt-4o-mini"
    requested_model = "openai/gpt-4o-mini"
    prompt_tokens = 100
    completion_tokens = 50
    total_tokens = 150
    cost = Decimal("0.00010000")
    latency_ms = 420
    outcome = Outcome.OK


def priced_normal_policy(*, daily_ceiling: str, session_ceiling: str) -> Policy:
    """The normal mode on one model whose every call is estimated at exactly $0.01: 1,000
    completion tokens at $0.00001."""
    ModelPriceFactory(
        model_id="test/primary", prompt_price=Decimal(0), completion_price=Decimal("0.00001")
    )
    return PolicyFactory(
        mode="normal",
        model="test/primary",
        fallback_models=[],
        max_output_tokens=1000,
        daily_ceiling=Decimal(daily_ceiling),
        session_ceiling=Decimal(session_ceiling),
    )


def spend(
    *, mode: str = Mode.NORMAL, cost: str | Decimal, session_ref: str = "", **fields: Any
) -> ModelCall:
    """Money already spent, recorded the way every call records it (ledger and counters)."""
    defaults: dict[str, Any] = {
        "provider": "openrouter",
        "model": "openai/gpt-4o-mini",
        "prompt_tokens": 100,
        "completion_tokens": 50,
        "outcome": Outcome.OK,
    }
    return CostTracker().record(
        mode=mode, session_ref=session_ref, cost=Decimal(cost), **{**defaults, **fields}
    )


def held_for_calls_in_flight() -> Decimal:
    """Money the reservations hold for calls not yet settled: all of it, less what this
    process's open blocks hold for calls to come (routing.services.allowances)."""
    rows = sum(BudgetReservation.objects.values_list("amount", flat=True), Decimal(0))
    return rows - blocks.unused()
