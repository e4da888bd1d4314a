"""`manage.py run_stuck_detector`: one run of the stuck-task detector, outside django-q2."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from engine.jobs import detect_stuck_tasks


class Command(BaseCommand):
    help = "Requeue tasks whose worker went silent, whose lease expired or that timed out."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(detect_stuck_tasks(), sort_keys=True))
