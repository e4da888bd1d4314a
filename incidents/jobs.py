"""Background jobs: django-q2 calls these by dotted path (installed by install_schedules)."""

from __future__ import annotations

from typing import Any

from engine.jobs import lock_ttl_seconds, skipped
from engine.services import job_lock
from incidents.services.verification import verify_pass

VERIFY_LOCK = "incidents.verify"


def verify_job() -> dict[str, Any]:
    """The verifier's pass; a pass that finds another running skips."""
    with job_lock(VERIFY_LOCK, ttl_seconds=lock_ttl_seconds()) as acquired:
        if not acquired:
            return skipped(VERIFY_LOCK)
        return verify_pass().as_dict()
