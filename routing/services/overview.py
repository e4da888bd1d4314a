"""What the Routing page shows: the provider, the policies and the spend they allow, the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from routing.models import ZERO, Mode, ModelCall, Policy
from routing.money import money_text
from routing.providers import OFFLINE_LABEL, build_provider, configured_provider_name
from routing.providers.http import OpenAICompatibleProvider
from routing.services.policies import ModePolicies


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    label: str
    offline: bool
    base_url: str


def provider_status() -> ProviderStatus:
    """The provider calls go to now; the URL is shown, the key never."""
    name = configured_provider_name()
    provider = build_provider(name)
    base_url = provider.base_url if isinstance(provider, OpenAICompatibleProvider) else ""
    label = OFFLINE_LABEL if name == "offline" else provider.label
    return ProviderStatus(name=name, label=label, offline=name == "offline", base_url=base_url)


@dataclass(frozen=True)
class PolicyRow:
    policy: Policy
    spent_today: Decimal
    overrun_today: Decimal = ZERO  # what providers reported above the worst case reserved

    @property
    def daily_left(self) -> Decimal:
        return max(self.policy.daily_ceiling - self.spent_today, ZERO)

    @property
    def over_ceiling_by(self) -> Decimal:
        return max(self.spent_today - self.policy.daily_ceiling, ZERO)

    @property
    def overrun(self) -> bool:
        """Spend past the ceiling that a provider's reported cost put there: the only way
        past it, and the only time the meter reads more than 100%."""
        return self.over_ceiling_by > 0 and self.overrun_today > 0

    @property
    def daily_used_percent(self) -> int:
        ceiling = self.policy.daily_ceiling
        if ceiling <= 0:
            return 100
        spent = self.spent_today if self.overrun else min(self.spent_today, ceiling)
        return int(spent * 100 / ceiling)

    @property
    def meter_value(self) -> int:
        return min(self.daily_used_percent, 100)


def policy_rows(*, today: date) -> list[PolicyRow]:
    calls = ModelCall.objects.on_day(today)
    spent, overrun = calls.spend_by_mode(), calls.overrun_by_mode()
    return [
        PolicyRow(policy, spent.get(policy.mode, ZERO), overrun.get(policy.mode, ZERO))
        for policy in ModePolicies().policies()
    ]


def spend_chart(*, days: int, now: datetime | None = None) -> dict[str, Any]:
    """Spend per mode per UTC day, oldest first, zero-filled: the chart's data."""
    today = (now or timezone.now()).date()
    first = today - timedelta(days=days - 1)
    dates = [first + timedelta(days=i) for i in range(days)]
    series = {mode: [ZERO] * days for mode in Mode.values}
    for row in ModelCall.objects.spend_by_mode_and_day(since=first):
        day = row["day"]
        if row["mode"] in series and first <= day <= today:
            series[row["mode"]][(day - first).days] = row["cost"] or ZERO
    return {
        "days": [d.isoformat() for d in dates],
        "modes": [{"mode": m.value, "label": m.label} for m in Mode],
        "series": {mode: [money_text(v) for v in values] for mode, values in series.items()},
    }
