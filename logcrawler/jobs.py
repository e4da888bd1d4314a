"""The log crawler's periodic jobs, as django-q2 runs them (declared in `schedules`).

Each takes a job lock, so a slow run and the next one never overlap; the crawl also locks
each source, so a source being crawled by a command is not crawled again by the schedule.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from engine.services import job_lock
from logcrawler.services import crawl_sources, evaluate_alert_rules, prune_logs

log = logging.getLogger(__name__)

CRAWL_LOCK = "logcrawler.crawl"
EVALUATE_LOCK = "logcrawler.evaluate_alerts"
PRUNE_LOCK = "logcrawler.prune"


def _ttl() -> int:
    return int(settings.Q_CLUSTER.get("timeout", 120))


def crawl_all_sources() -> dict[str, Any]:
    with job_lock(CRAWL_LOCK, ttl_seconds=_ttl()) as acquired:
        if not acquired:
            return {"skipped": f"another run holds the {CRAWL_LOCK} lock"}
        reports = [report.line() for report in crawl_sources()]
        alerts = evaluate_alert_rules()
        return {"sources": reports, "alerts": alerts.as_dict()}


def evaluate_alerts() -> dict[str, Any]:
    with job_lock(EVALUATE_LOCK, ttl_seconds=_ttl()) as acquired:
        if not acquired:
            return {"skipped": f"another run holds the {EVALUATE_LOCK} lock"}
        return evaluate_alert_rules().as_dict()


def prune() -> dict[str, Any]:
    with job_lock(PRUNE_LOCK, ttl_seconds=_ttl()) as acquired:
        if not acquired:
            return {"skipped": f"another run holds the {PRUNE_LOCK} lock"}
        return prune_logs().as_dict()
