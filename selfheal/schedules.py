"""Self-heal's periodic jobs, as plain data; the project installs them into django-q2."""

from __future__ import annotations

from typing import Any

SCHEDULES: list[dict[str, Any]] = [
    {"name": "selfheal.autoheal", "func": "selfheal.jobs.autoheal_job", "minutes": 5},
]
