"""How much of each bound a playbook has left: bounds hold per window, not per run.

A repair's step bound ("unblock at most 10 tasks") counts the rows the playbook changed in
the last `SELFHEAL_BOUND_WINDOW_MINUTES` (60) across all its executions, whoever started
them: the auto-heal rules, the page's button, the API, chat. Two auto-heal rules that run
the same playbook a few seconds apart once reset 20 blocked and 10 stuck tasks; now the
second finds the bound used and says so. A playbook may set its own window
(`Playbook.BOUND_WINDOW_MINUTES`; 0 makes its bounds hold per run, as revert's do).

Dry runs change nothing and use nothing, but plan within what is left, as the real run would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from selfheal.models import RepairAction


@dataclass(frozen=True)
class StepBudget:
    step: str
    bound: int
    used: int = 0  # rows the playbook changed in this step within the window, before now
    oldest: datetime | None = None  # when the oldest of those changed

    @property
    def left(self) -> int:
        return max(self.bound - self.used, 0)

    def room_again_at(self, window: timedelta) -> datetime | None:
        """When the oldest counted change leaves the window and one more row may change."""
        if self.left or self.oldest is None:
            return None
        return self.oldest + window

    def as_dict(self, window: timedelta) -> dict[str, Any]:
        again = self.room_again_at(window)
        return {
            "bound": self.bound,
            "used": self.used,
            "left": self.left,
            "room_again_at": again.isoformat() if again else None,
        }


@dataclass(frozen=True)
class PlaybookBudget:
    playbook: str
    window: timedelta  # zero: each run may use the whole bound
    steps: dict[str, StepBudget]

    @property
    def per_run(self) -> bool:
        return not self.window

    def left(self, step: str) -> int | None:
        """How many rows this step may still change, or None when its bound has no window."""
        budget = self.steps.get(step)
        return None if budget is None or self.per_run else budget.left

    def as_dict(self) -> dict[str, Any]:
        if not self.steps:  # a playbook that changes nothing (the diagnosis)
            return {}
        if self.per_run:
            return {"window_minutes": 0}
        return {
            "window_minutes": int(self.window.total_seconds() // 60),
            "steps": {name: budget.as_dict(self.window) for name, budget in self.steps.items()},
        }


def default_window() -> timedelta:
    return timedelta(minutes=settings.SELFHEAL_BOUND_WINDOW_MINUTES)


def playbook_budget(
    *,
    playbook: str,
    bounds: dict[str, int],
    window: timedelta,
    now: datetime,
    exclude_execution: int | None = None,
) -> PlaybookBudget:
    """Each step's bound and what the playbook used of it in the window ending `now`."""
    if not window or not bounds:
        steps = {name: StepBudget(name, bound) for name, bound in bounds.items()}
        return PlaybookBudget(playbook, timedelta(0), steps)
    used = RepairAction.objects.applied_per_step(
        playbook=playbook, since=now - window, exclude_execution=exclude_execution
    )
    steps = {
        name: StepBudget(name, bound, *used.get(name, (0, None))) for name, bound in bounds.items()
    }
    return PlaybookBudget(playbook, window, steps)
