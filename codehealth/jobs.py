"""Code health's background jobs: django-q2 calls these by dotted path (see `schedules`).

Each takes a job lock, so a slow run and the next one never overlap across qclusters."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from codehealth.services.daily import queue_daily_scans
from codehealth.services.weekly import write_due_reports
from engine.services import job_lock
from engine.services.history import system_actor

DAILY_SCAN_LOCK = "codehealth.daily_scan"
WEEKLY_REPORT_LOCK = "codehealth.weekly_report"


def _ttl() -> int:
    return int(settings.Q_CLUSTER.get("timeout", 120))


def daily_scan() -> dict[str, Any]:
    with job_lock(DAILY_SCAN_LOCK, ttl_seconds=_ttl()) as acquired:
        if not acquired:
            return {"skipped": f"another run holds the {DAILY_SCAN_LOCK} lock"}
        outcomes = queue_daily_scans(actor=system_actor(DAILY_SCAN_LOCK))
        return {"repositories": [o.as_dict() for o in outcomes]}


def weekly_report() -> dict[str, Any]:
    with job_lock(WEEKLY_REPORT_LOCK, ttl_seconds=_ttl()) as acquired:
        if not acquired:
            return {"skipped": f"another run holds the {WEEKLY_REPORT_LOCK} lock"}
        reports = write_due_reports(actor=system_actor(WEEKLY_REPORT_LOCK))
        return {"written": [{"report": r.pk, "repository": r.repository.name} for r in reports]}
