"""`CostTracker`: the ledger. One row per model call, spend per session, mode and day."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from routing.models import MONEY_PLACES, ZERO, CostSource, ModelCall, ModelPrice
from routing.services.budget_sql import charge_counters, counter_keys
from routing.types import Usage

MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
MAX_ERROR_CHARS = 2000


def quantize_money(amount: Decimal) -> Decimal:
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


class CostTracker:
    def cost_of(
        self, *, model: str, usage: Usage, charges: bool = True
    ) -> tuple[Decimal, CostSource]:
        """The provider's reported cost where it gives one, else tokens times prices."""
        if usage.cost is not None:
            return quantize_money(usage.cost), CostSource.PROVIDER
        if not charges:
            return ZERO, CostSource.NONE
        price = ModelPrice.objects.filter(model_id=model, variable_pricing=False).first()
        if price is None:
            return ZERO, CostSource.NONE
        amount = (
            usage.prompt_tokens * price.prompt_price
            + usage.completion_tokens * price.completion_price
        )
        return quantize_money(amount), CostSource.COMPUTED

    def record(self, **fields: Any) -> ModelCall:
        """Write a ledger row; a row that cost money also adds it to the budget counters of
        its mode's day and its session, in the same transaction, so they never disagree."""
        usage: Usage | None = fields.pop("usage", None)
        if usage is not None:
            fields.setdefault("prompt_tokens", usage.prompt_tokens)
            fields.setdefault("completion_tokens", usage.completion_tokens)
        fields["total_tokens"] = fields.get("prompt_tokens", 0) + fields.get("completion_tokens", 0)
        if "error" in fields:
            fields["error"] = str(fields["error"])[:MAX_ERROR_CHARS]
        cost = fields.get("cost") or ZERO
        if cost <= 0:
            return ModelCall.objects.create(**fields)
        created_at = fields.setdefault("created_at", timezone.now())
        keys = counter_keys(
            mode=fields["mode"], day=created_at.date(), session_ref=fields.get("session_ref", "")
        )
        with transaction.atomic(savepoint=False):
            call = ModelCall.objects.create(**fields)
            charge_counters(keys, cost)
        return call

    def spend(
        self, *, mode: str | None = None, session_ref: str | None = None, day: date | None = None
    ) -> Decimal:
        calls = ModelCall.objects.all()
        if mode is not None:
            calls = calls.filter(mode=mode)
        if session_ref is not None:
            calls = calls.filter(session_ref=session_ref)
        if day is not None:
            calls = calls.on_day(day)
        return calls.total_cost()

    def spend_today(self, *, mode: str) -> Decimal:
        return self.spend(mode=mode, day=timezone.now().date())
