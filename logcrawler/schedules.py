"""The log crawler's periodic jobs, as plain data; the project installs them into django-q2."""

from __future__ import annotations

from typing import Any

from django.conf import settings

SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "logcrawler.crawl",
        "func": "logcrawler.jobs.crawl_all_sources",
        "minutes": settings.LOGCRAWLER_CRAWL_MINUTES,
    },
    {
        "name": "logcrawler.evaluate_alerts",
        "func": "logcrawler.jobs.evaluate_alerts",
        "minutes": settings.LOGCRAWLER_EVALUATE_MINUTES,
    },
    {"name": "logcrawler.prune", "func": "logcrawler.jobs.prune", "minutes": 1440},
]
