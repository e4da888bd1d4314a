"""`ModelSelector`: the models a call may use, best first, and why the others were ruled out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from routing.errors import ModelNotAllowed, ModelOverPriceCap, NoModelAvailable
from routing.models import ZERO, Breaker, ModelHealth, ModelPrice, Policy
from routing.money import format_money
from routing.providers.base import Provider
from routing.services import health
from routing.services.lookups import health_rows, price_rows


@dataclass(frozen=True)
class Candidate:
    """A model the call may use, with the per-token prices its estimate is made from."""

    model: str
    prompt_price: Decimal = ZERO
    completion_price: Decimal = ZERO
    failures: int = 0
    probe: bool = False  # this call holds the probe of the model's half-open breaker
    last_resort: bool = False  # its breaker is open, and so is every other model's

    def estimate(self, *, prompt_tokens: int, completion_tokens: int) -> Decimal:
        return prompt_tokens * self.prompt_price + completion_tokens * self.completion_price

    @property
    def owed_a_verdict(self) -> bool:
        """Whether its answer changes its breaker: a success closes it (health.py)."""
        return bool(self.failures) or self.probe or self.last_resort


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
        """The candidates, best first. A model whose breaker is half-open is a candidate only
        for the call that claims its probe (the caller gives back probes it does not send:
        health.release_probe); when every model left is ruled out by its breaker alone, the
        first of them is used anyway, so breakers never take a mode offline."""
        names = policy.models_in_order
        prices = price_rows(names)
        if requested_model:
            self._check_requested(policy, requested_model, prices.get(requested_model))
            names = [requested_model, *(n for n in names if n != requested_model)]
        health = health_rows(names)
        candidates: list[Candidate] = []
        skipped: list[Skipped] = []
        resting: list[str] = []  # ruled out by their breaker alone
        for name in names:
            price, row = prices.get(name), health.get(name)
            reason = self._rule_out(policy, price, needs_tools, tokens_needed)
            if not reason:
                reason, probe = self._breaker(name, row)
                if reason:
                    resting.append(name)
                else:
                    candidates.append(self._candidate(policy, name, price, row, probe=probe))
                    continue
            skipped.append(Skipped(name, reason))
        if not candidates and resting:
            name = resting[0]
            candidates.append(
                self._candidate(policy, name, prices.get(name), health.get(name), last_resort=True)
            )
        if not candidates:
            reasons = "; ".join(f"{s.model} {s.reason}" for s in skipped)
            raise NoModelAvailable(
                f"No model of the {policy.mode} policy can take this call: {reasons}."
            )
        return Selection(candidates=candidates, skipped=skipped)

    @staticmethod
    def _check_requested(policy: Policy, model: str, price: ModelPrice | None) -> None:
        """A model the caller names is the one that answers, or the call is refused: never
        quietly another."""
        names = policy.models_in_order
        if model not in names:
            raise ModelNotAllowed(
                f"The {policy.mode} policy does not allow {model!r}; it allows {', '.join(names)}."
            )
        if price is not None and _over_cap(policy, price):
            raise ModelOverPriceCap(
                f"{model} costs {format_money(price.highest_price_per_1k)} per 1k tokens, over "
                f"the {policy.mode} policy's price cap of "
                f"{format_money(policy.max_price_per_1k)} per 1k tokens. Ask for a model under "
                "the cap (GET /v1/models lists them), or raise the cap in the policy."
            )

    def _rule_out(
        self,
        policy: Policy,
        price: ModelPrice | None,
        needs_tools: bool,
        tokens_needed: int,
    ) -> str:
        if price is None:
            if self.provider.needs_prices:
                return "has no known price (run `manage.py sync_models`)"
            return ""
        if _over_cap(policy, price):
            return (
                f"costs {format_money(price.highest_price_per_1k)} per 1k tokens, over the "
                f"cap of {format_money(policy.max_price_per_1k)}"
            )
        if needs_tools and not price.supports_tools:
            return "does not support tools"
        if price.context_length and tokens_needed > price.context_length:
            return (
                f"has a context window of {price.context_length} tokens, too small for "
                f"about {tokens_needed}"
            )
        return ""

    def _breaker(self, name: str, row: ModelHealth | None) -> tuple[str, bool]:
        """Why the model's breaker rules it out ('' if it does not), and whether this call
        claimed its probe."""
        if row is None or row.breaker(self.now) == Breaker.CLOSED:
            return "", False
        if row.breaker(self.now) == Breaker.OPEN:
            assert row.cooldown_until is not None
            return (
                "is resting after failures in a row (its circuit is open); one call probes "
                f"it after {row.cooldown_until:%H:%M:%S} UTC",
                False,
            )
        if not row.probing(self.now) and health.claim_probe(model=name, now=self.now):
            return "", True
        return "is being probed by another call (its circuit is half-open)", False

    def _candidate(
        self,
        policy: Policy,
        name: str,
        price: ModelPrice | None,
        row: ModelHealth | None,
        *,
        probe: bool = False,
        last_resort: bool = False,
    ) -> Candidate:
        failures = row.consecutive_failures if row else 0
        prompt_price = completion_price = ZERO
        if price is not None and price.variable_pricing:
            # A router's price depends on the model it picks; the cap bounds it (OpenRouter
            # enforces it through provider.max_price), so the estimate assumes the cap.
            prompt_price = completion_price = policy.max_price_per_token
        elif price is not None:
            prompt_price, completion_price = price.prompt_price, price.completion_price
        return Candidate(
            model=name,
            prompt_price=prompt_price,
            completion_price=completion_price,
            failures=failures,
            probe=probe,
            last_resort=last_resort,
        )


def _over_cap(policy: Policy, price: ModelPrice) -> bool:
    return not price.variable_pricing and price.highest_price_per_1k > policy.max_price_per_1k
