"""Background jobs: django-q2 calls these by dotted path (see `selfheal.schedules`)."""

from __future__ import annotations

from typing import Any

from selfheal.autoheal import run_autoheal
from selfheal.errors import AlreadyRunning

SCHEDULE_ACTOR = "schedule:selfheal.autoheal"


def autoheal_job() -> dict[str, Any]:
    """Diagnose and heal what the rules allow; a run that finds one in progress skips."""
    try:
        report = run_autoheal(triggered_by=SCHEDULE_ACTOR)
    except AlreadyRunning as exc:
        return {"skipped": str(exc)}
    return report.as_dict()
