"""`ModelSelector`: the models a call may use, best first, and why the others were ruled out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from routing.errors import ModelNotAllowed, NoModelAvailable
from routing.models import ZERO, ModelHealth, ModelPrice, Policy
from routing.providers.base import Provider
from routing.services.lookups import health_rows, price_rows


@dataclass(frozen=True)
class Candidate:
    """A model the call may use, with the per-token prices its estimate is made from."""

    model: str
    prompt_price: Decimal = ZERO
    completion_price: Decimal = ZERO
    failures: int = 0

    def estimate(self, *, prompt_tokens: int, completion_tokens: int) -> Decimal:
        return prompt_tokens * self.prompt_price + completion_tokens * self.completion_price


@dataclass(frozen=True)
class Skipped:
    model: str
    reason: str


@dataclass(frozen=True)
class Selection:
    candidates: list[Candidate]
    skipped: list[Skipped] = field(default_factory=list)


class ModelSelector:
    """Picks within a policy: under the price cap, supporting tools when the call needs them,
    with a context window that fits, and healthy; the preferred model first, then the
    fallbacks in order."""

    def __init__(self, *, provider: Provider, now: datetime | None = None) -> None:
        self.provider = provider
        self.now = now or timezone.now()

    def select(
        self,
        policy: Policy,
        *,
        needs_tools: bool,
        tokens_needed: int,
        requested_model: str | None = None,
    ) -> Selection:
        names = policy.models_in_order
        if requested_model:
            if requested_model not in names:
                raise ModelNotAllowed(
                    f"The {policy.mode} policy does not allow {requested_model!r}; it allows "
                    f"{', '.join(names)}."
                )
            names = [requested_model, *(n for n in names if n != requested_model)]
        prices = price_rows(names)
        health = health_rows(names)
        candidates: list[Candidate] = []
        skipped: list[Skipped] = []
        for name in names:
            reason = self._rule_out(
                policy, prices.get(name), health.get(name), needs_tools, tokens_needed
            )
            if reason:
                skipped.append(Skipped(name, reason))
                continue
            candidates.append(self._candidate(policy, name, prices.get(name), health.get(name)))
        if not candidates:
            reasons = "; ".join(f"{s.model} {s.reason}" for s in skipped)
            raise NoModelAvailable(
                f"No model of the {policy.mode} policy can take this call: {reasons}."
            )
        return Selection(candidates=candidates, skipped=skipped)

    def _rule_out(
        self,
        policy: Policy,
        price: ModelPrice | None,
        health: ModelHealth | None,
        needs_tools: bool,
        tokens_needed: int,
    ) -> str:
        if price is None:
            if self.provider.needs_prices:
                return "has no known price (run `manage.py sync_models`)"
        else:
            if not price.variable_pricing and price.highest_price_per_1k > policy.max_price_per_1k:
                return (
                    f"costs ${price.highest_price_per_1k.normalize():f} per 1k tokens, over the "
                    f"cap of ${policy.max_price_per_1k.normalize():f}"
                )
            if needs_tools and not price.supports_tools:
                return "does not support tools"
            if price.context_length and tokens_needed > price.context_length:
                return (
                    f"has a context window of {price.context_length} tokens, too small for "
                    f"about {tokens_needed}"
                )
        if health is not None and health.cooling_down(self.now):
            assert health.cooldown_until is not None
            return (
                f"failed {health.consecutive_failures} times in a row and cools down until "
                f"{health.cooldown_until:%H:%M:%S} UTC"
            )
        return ""

    def _candidate(
        self, policy: Policy, name: str, price: ModelPrice | None, health: ModelHealth | None
    ) -> Candidate:
        failures = health.consecutive_failures if health else 0
        if price is None:
            return Candidate(model=name, failures=failures)
        if price.variable_pricing:
            # A router's price depends on the model it picks; the cap bounds it (OpenRouter
            # enforces it through provider.max_price), so the estimate assumes the cap.
            cap = policy.max_price_per_token
            return Candidate(model=name, prompt_price=cap, completion_price=cap, failures=failures)
        return Candidate(
            model=name,
            prompt_price=price.prompt_price,
            completion_price=price.completion_price,
            failures=failures,
        )
