"""`BudgetTracker`: steps, wall time, retries and money of a run, checked before every step
and on a clock, so the meters are right to the second and no run passes a limit.

Steps and money come from the mode's routing policy (`max_iterations`, `session_ceiling`),
time and retries from settings; a session may override each. Steps, time and retries count
per run (a run starts with a user message and keeps its counts while paused); money counts
for the whole session, as the policy's session ceiling does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from chat.models import ChatSession
from chat.stop_reasons import StopReason
from routing.services import OpenRouterPolicyManager


@dataclass(frozen=True)
class BudgetLimits:
    steps: int
    seconds: int
    retries: int
    cost: Decimal

    @classmethod
    def for_session(cls, session: ChatSession) -> BudgetLimits:
        policy = OpenRouterPolicyManager().policy_for(session.mode)
        return cls(
            steps=session.max_steps if session.max_steps is not None else policy.max_iterations,
            seconds=(
                session.max_seconds
                if session.max_seconds is not None
                else settings.CHAT_MAX_SECONDS
            ),
            retries=(
                session.max_retries
                if session.max_retries is not None
                else settings.CHAT_MAX_RETRIES
            ),
            cost=session.max_cost if session.max_cost is not None else policy.session_ceiling,
        )


class BudgetTracker:
    """Reads and counts a session's use; the session row is the source of truth."""

    def __init__(self, session: ChatSession, limits: BudgetLimits | None = None) -> None:
        self.session = session
        self.limits = limits or BudgetLimits.for_session(session)

    def reload_limits(self) -> None:
        """Budgets may be raised while a run goes on; the next check sees the new ones."""
        self.session.refresh_from_db(fields=["max_steps", "max_seconds", "max_retries", "max_cost"])
        self.limits = BudgetLimits.for_session(self.session)

    def seconds_used(self, now: datetime | None = None) -> float:
        used = self.session.seconds_used
        if self.session.segment_started_at is not None:
            now = now or timezone.now()
            used += max((now - self.session.segment_started_at).total_seconds(), 0.0)
        return used

    def exceeded(self, now: datetime | None = None) -> StopReason | None:
        """The first budget used up, in the order an operator would raise them."""
        session, limits = self.session, self.limits
        if session.steps_used >= limits.steps:
            return StopReason.STEP_BUDGET
        if self.seconds_used(now) >= limits.seconds:
            return StopReason.TIME_BUDGET
        if session.cost_used >= limits.cost:
            return StopReason.COST_BUDGET
        if session.retries_used > limits.retries:
            return StopReason.RETRY_BUDGET
        return None

    def time_exceeded(self, now: datetime | None = None) -> bool:
        return self.seconds_used(now) >= self.limits.seconds

    def can_retry(self) -> bool:
        return self.session.retries_used < self.limits.retries

    def describe(self, reason: StopReason) -> str:
        session, limits = self.session, self.limits
        if reason == StopReason.STEP_BUDGET:
            return f"{session.steps_used} of {limits.steps} steps used."
        if reason == StopReason.TIME_BUDGET:
            return f"{self.seconds_used():.0f} of {limits.seconds} seconds used."
        if reason == StopReason.COST_BUDGET:
            return f"${session.cost_used:.4f} of ${limits.cost:.4f} spent."
        if reason == StopReason.RETRY_BUDGET:
            return f"{session.retries_used} of {limits.retries} retries used."
        return ""

    def snapshot(self) -> dict[str, Any]:
        """The `budget.updated` event's data."""
        session, limits = self.session, self.limits
        return {
            "steps": {"used": session.steps_used, "limit": limits.steps},
            "seconds": {"used": round(self.seconds_used(), 1), "limit": limits.seconds},
            "retries": {"used": session.retries_used, "limit": limits.retries},
            "cost": {"used": str(session.cost_used), "limit": str(limits.cost)},
        }

    # Counting: each writes only its own column, so a concurrent Stop is never overwritten.

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

    def start_segment(self, now: datetime | None = None) -> None:
        self.session.segment_started_at = now or timezone.now()
        self.session.save(update_fields=["segment_started_at", "updated_at"])

    def end_segment(self, now: datetime | None = None) -> None:
        self.session.seconds_used = self.seconds_used(now)
        self.session.segment_started_at = None
        self.session.save(update_fields=["seconds_used", "segment_started_at", "updated_at"])
