"""The engine's periodic jobs, as django-q2 runs them (see `engine.schedules`).

Each job takes a job lock first, so a slow run and the next minute's run never overlap,
even across qclusters on several machines; the skipped run says so in its result.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from engine.services import StuckTaskDetector, apply_unblock_rules, job_lock

DETECT_STUCK_LOCK = "engine.detect_stuck_tasks"
UNBLOCK_LOCK = "engine.apply_unblock_rules"


def lock_ttl_seconds() -> int:
    # django-q2 kills a job at its timeout; a killed job's lock must not outlive it by much.
    return int(settings.Q_CLUSTER.get("timeout", 120))


def skipped(lock: str) -> dict[str, Any]:
    return {"skipped": f"another run holds the {lock} lock"}


def detect_stuck_tasks() -> dict[str, Any]:
    with job_lock(DETECT_STUCK_LOCK, ttl_seconds=lock_ttl_seconds()) as acquired:
        if not acquired:
            return skipped(DETECT_STUCK_LOCK)
        return dict(StuckTaskDetector().run().as_dict())


def apply_unblock_rules_job() -> dict[str, Any]:
    with job_lock(UNBLOCK_LOCK, ttl_seconds=lock_ttl_seconds()) as acquired:
        if not acquired:
            return skipped(UNBLOCK_LOCK)
        return dict(apply_unblock_rules().as_dict())
