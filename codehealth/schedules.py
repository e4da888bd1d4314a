"""Code health's periodic jobs, as plain data; the project installs them into django-q2."""

from __future__ import annotations

from typing import Any

SCHEDULES: list[dict[str, Any]] = [
    {"name": "codehealth.daily_scan", "func": "codehealth.jobs.daily_scan", "minutes": 1440},
    # Daily, not every 10080 minutes: a run writes only the last complete week's missing
    # reports, so each week's is written on its Monday whenever the schedule was installed.
    {"name": "codehealth.weekly_report", "func": "codehealth.jobs.weekly_report", "minutes": 1440},
]
