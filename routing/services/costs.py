"""`CostTracker`: the ledger. One row per model call, spend per session, mode and day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from routing.models import ZERO, CostSource, ModelCall
from routing.money import quantize_money
from routing.redaction import redact_text
from routing.services.ledger_sql import record_call
from routing.services.lookups import price_rows
from routing.types import Usage

MAX_ERROR_CHARS = 2000


class CostTracker:
    def cost_of(
        self, *, model: str, usage: Usage, charges: bool = True
    ) -> tuple[Decimal, CostSource]:
        """The provider's reported cost where it gives one, else tokens times prices."""
        if usage.cost is not None:
            return quantize_money(usage.cost), CostSource.PROVIDER
        if not charges:
            return ZERO, CostSource.NONE
        price = price_rows([model]).get(model)
        if price is None or price.variable_pricing:
            return ZERO, CostSource.NONE
        amount = (
            usage.prompt_tokens * price.prompt_price
            + usage.completion_tokens * price.completion_price
        )
        return quantize_money(amount), CostSource.COMPUTED

    def prepare(self, **fields: Any) -> ModelCall:
        """An unsaved ledger row: tokens totalled, the error cut to fit."""
        usage: Usage | None = fields.pop("usage", None)
        if usage is not None:
            fields.setdefault("prompt_tokens", usage.prompt_tokens)
            fields.setdefault("completion_tokens", usage.completion_tokens)
        fields["total_tokens"] = fields.get("prompt_tokens", 0) + fields.get("completion_tokens", 0)
        if "error" in fields:
            fields["error"] = redact_text(str(fields["error"]))[:MAX_ERROR_CHARS]
        fields.setdefault("created_at", timezone.now())
        return ModelCall(**fields)

    def record(self, **fields: Any) -> ModelCall:
        """Write a ledger row; a row that cost money also adds it to the budget counters of
        its mode's day and its session, in the same transaction, so they never disagree."""
        return record_call(self.prepare(**fields))

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
