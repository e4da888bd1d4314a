"""`BudgetTracker`: steps, wall time, retries and money of a run, checked before every step
and on a clock, so the meters are right to the second and no run passes a limit.

Every limit comes from the mode's routing policy (`max_iterations`, `max_seconds`,
`max_retries`, `session_ceiling`); a session may override each. Steps, time and retries count
per run (a run starts with a user message and keeps its counts while paused); money counts
for the whole session, as the policy's session ceiling does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from chat.errors import BudgetSpent
from chat.models import ChatSession
from chat.stop_reasons import StopReason
from routing.models import Policy
from routing.money import format_money, money_text
from routing.services import CostTracker, ModePolicies

# The session's own limits; None means the mode's policy decides.
OVERRIDE_FIELDS = ("max_steps", "max_seconds", "max_retries", "max_cost")
# A budget stop: the meter it read, and the override that raises it.
RAISE_FIELDS = {
    StopReason.STEP_BUDGET: ("steps", "max_steps"),
    StopReason.TIME_BUDGET: ("seconds", "max_seconds"),
    StopReason.RETRY_BUDGET: ("retries", "max_retries"),
    StopReason.COST_BUDGET: ("cost", "max_cost"),
}


def plain_money(amount: Decimal) -> str:
    """`0.12`, not `0.12000000` (the column's places) nor `1.2E+1`."""
    return f"{amount.normalize():f}"


def policies_by_mode() -> dict[str, Policy]:
    """Every mode's policy in one query, for code that shows many sessions at once."""
    return {policy.mode: policy for policy in ModePolicies().policies()}


@dataclass(frozen=True)
class BudgetLimits:
    steps: int
    seconds: int
    retries: int
    cost: Decimal

    @classmethod
    def for_session(cls, session: ChatSession, policy: Policy | None = None) -> BudgetLimits:
        """The session's overrides, else its mode's policy (read here unless given)."""
        if policy is None:
            policy = ModePolicies().policy_for(session.mode)
        return cls(
            steps=session.max_steps if session.max_steps is not None else policy.max_iterations,
            seconds=session.max_seconds if session.max_seconds is not None else policy.max_seconds,
            retries=(
                session.max_retries if session.max_retries is not None else policy.max_retries
            ),
            cost=session.max_cost if session.max_cost is not None else policy.session_ceiling,
        )


class BudgetTracker:
    """Reads and counts a session's use; the session row is the source of truth."""

    def __init__(self, session: ChatSession, *, policy: Policy | None = None) -> None:
        self.session = session
        self.policy = policy or ModePolicies().policy_for(session.mode)
        self.limits = BudgetLimits.for_session(session, self.policy)

    def reload_limits(self) -> None:
        """Before every step: the session's overrides and the policy, as they are now."""
        self.session.refresh_from_db(fields=list(OVERRIDE_FIELDS))
        self.policy = ModePolicies().policy_for(self.session.mode)
        self.limits = BudgetLimits.for_session(self.session, self.policy)

    def overrides_changed(self) -> None:
        """The caller re-read the session's override columns (within a step, on the clock):
        a budget raised or lowered meanwhile counts at once; a policy edit from the next step."""
        self.limits = BudgetLimits.for_session(self.session, self.policy)

    def seconds_used(self, now: datetime | None = None) -> float:
        used = self.session.seconds_used
        if self.session.segment_started_at is not None:
            now = now or timezone.now()
            used += max((now - self.session.segment_started_at).total_seconds(), 0.0)
        return used

    def exceeded(self, now: datetime | None = None) -> StopReason | None:
        """Before a step: the first budget used up, in the order an operator would raise them."""
        if self.session.steps_used >= self.limits.steps:
            return StopReason.STEP_BUDGET
        return self.exceeded_during_step(now)

    def exceeded_during_step(self, now: datetime | None = None) -> StopReason | None:
        """Within a step: the budgets that can move while it runs (its wall time, a tool
        retried, a model call's cost landing) or whose limit was lowered meanwhile. Steps are
        not among them: a step is counted as it begins, so the last one may finish its work."""
        session, limits = self.session, self.limits
        if self.seconds_used(now) >= limits.seconds:
            return StopReason.TIME_BUDGET
        if session.cost_used >= limits.cost:
            return StopReason.COST_BUDGET
        if session.retries_used > limits.retries:
            return StopReason.RETRY_BUDGET
        return None

    def can_retry(self) -> bool:
        return self.session.retries_used < self.limits.retries

    def still_spent(self) -> StopReason | None:
        """Before Run continues a paused run: the budget it would stop on at once. A run
        stopped for its retries stays spent while none is left: the call it waits to make
        is the one that failed."""
        exceeded = self.exceeded()
        if exceeded is not None:
            return exceeded
        if self.session.stop_reason == StopReason.RETRY_BUDGET and not self.can_retry():
            return StopReason.RETRY_BUDGET
        return None

    def spent_error(self, reason: StopReason) -> BudgetSpent:
        """What Run answers for a budget still spent: which, how much, what to raise."""
        budget, field = RAISE_FIELDS[reason]
        used: Any = {
            "steps": self.session.steps_used,
            "seconds": round(self.seconds_used(), 1),
            "retries": self.session.retries_used,
            "cost": plain_money(self.session.cost_used),
        }[budget]
        limit: Any = getattr(self.limits, budget)
        limit = plain_money(limit) if isinstance(limit, Decimal) else limit
        label = reason.label[0].lower() + reason.label[1:]
        return BudgetSpent(
            f"Run would stop again at once: {label} ({self.describe(reason).rstrip('.')}). Raise "
            f"{field} above {used} (“Raise or lower budgets” on the page, or POST "
            f"/api/chat/sessions/{self.session.pk}/budgets/), then press Run.",
            budget=budget,
            used=used,
            limit=limit,
            field=field,
        )

    def describe(self, reason: StopReason) -> str:
        session, limits = self.session, self.limits
        if reason == StopReason.STEP_BUDGET:
            return f"{session.steps_used} of {limits.steps} steps used."
        if reason == StopReason.TIME_BUDGET:
            return f"{self.seconds_used():.0f} of {limits.seconds} seconds used."
        if reason == StopReason.COST_BUDGET:
            return f"{format_money(session.cost_used)} of {format_money(limits.cost)} spent."
        if reason == StopReason.RETRY_BUDGET:
            return f"{session.retries_used} of {limits.retries} retries used."
        return ""

    def counters(self) -> tuple[Any, ...]:
        """What a meter shows apart from the clock: when it changes, the meters are stale."""
        session = self.session
        return (session.steps_used, session.retries_used, session.cost_used, self.limits)

    def snapshot(self) -> dict[str, Any]:
        """The `budget.updated` event's data."""
        session, limits = self.session, self.limits
        return {
            "steps": {"used": session.steps_used, "limit": limits.steps},
            "seconds": {"used": round(self.seconds_used(), 1), "limit": limits.seconds},
            "retries": {"used": session.retries_used, "limit": limits.retries},
            "cost": {"used": money_text(session.cost_used), "limit": money_text(limits.cost)},
        }

    # Counting: each writes only its own column, so a concurrent Stop is never overwritten.
    # Only the loop running the session counts, so its copy of the counters is current.

    def add_step(self) -> None:
        self.session.steps_used += 1
        self.session.save(update_fields=["steps_used", "updated_at"])

    def add_retry(self) -> None:
        self.session.retries_used += 1
        self.session.save(update_fields=["retries_used", "updated_at"])

    def add_cost(self, amount: Decimal) -> None:
        if amount:
            self.session.cost_used += amount
            self.session.save(update_fields=["cost_used", "updated_at"])

    def sync_cost(self) -> bool:
        """Catch up with what routing's ledger charged the session; True when it moved.

        The loop adds a model's cost when its answer lands. A stream the loop walked away
        from (Stop, a budget) is charged too, by routing, in the stream's own thread once it
        closes: only the ledger knows that amount.
        """
        charged = CostTracker().spend(session_ref=self.session.ref)
        if charged <= self.session.cost_used:
            return False
        self.session.cost_used = charged
        self.session.save(update_fields=["cost_used", "updated_at"])
        return True

    def start_segment(self, now: datetime | None = None) -> None:
        self.session.segment_started_at = now or timezone.now()
        self.session.save(update_fields=["segment_started_at", "updated_at"])

    def end_segment(self, now: datetime | None = None) -> None:
        self.session.seconds_used = self.seconds_used(now)
        self.session.segment_started_at = None
        self.session.save(update_fields=["seconds_used", "segment_started_at", "updated_at"])


CHAT_SESSION_PREFIX = "chat:"


def may_charge(session_ref: str, user: Any) -> bool:
    """Whether `user` may charge the chat session `chat:<id>` through routing's gateway: its
    owner may; a session the engine started (no owner), only staff."""
    number = session_ref.removeprefix(CHAT_SESSION_PREFIX)
    if not number.isdigit() or len(number) > 18:
        return False
    row = ChatSession.objects.filter(pk=int(number)).values("owner_id").first()
    if row is None:
        return False
    if row["owner_id"] is None:
        return bool(getattr(user, "is_staff", False))
    return bool(row["owner_id"] == getattr(user, "pk", None))
