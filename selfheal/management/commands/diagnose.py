"""`manage.py diagnose [--json]`: run the six checks; exit 2 when one is critical."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from selfheal.api.serializers import execution_detail
from selfheal.errors import AlreadyRunning
from selfheal.reporting import EXIT_BUSY, as_text, exit_code
from selfheal.services import run_diagnosis


class Command(BaseCommand):
    help = "Diagnose the system. Exit 0 healthy, 1 failed to run, 2 a check is critical, 3 busy."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="The execution as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            execution = run_diagnosis(triggered_by="cli:diagnose")
        except AlreadyRunning as exc:
            raise CommandError(str(exc), returncode=EXIT_BUSY) from None
        if options["json"]:
            self.stdout.write(json.dumps(execution_detail(execution), indent=2, default=str))
        else:
            self.stdout.write(as_text(execution))
        code = exit_code(execution)
        if code:
            raise CommandError(
                f"diagnosis #{execution.pk}: {execution.worst_severity or execution.state}",
                returncode=code,
            )
