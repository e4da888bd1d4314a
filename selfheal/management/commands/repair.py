"""`manage.py repair [--dry-run] [--json]`: the bounded repair; exit 2 when a check is
still critical afterwards."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from selfheal.api.serializers import execution_detail
from selfheal.errors import AlreadyRunning
from selfheal.reporting import EXIT_BUSY, as_text, exit_code
from selfheal.services import run_repair


class Command(BaseCommand):
    help = "Repair the common faults within their bounds. Exit codes as for `diagnose`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Show, change nothing.")
        parser.add_argument("--json", action="store_true", help="The execution as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            execution = run_repair(triggered_by="cli:repair", dry_run=options["dry_run"])
        except AlreadyRunning as exc:
            raise CommandError(str(exc), returncode=EXIT_BUSY) from None
        if options["json"]:
            self.stdout.write(json.dumps(execution_detail(execution), indent=2, default=str))
        else:
            self.stdout.write(as_text(execution))
        code = exit_code(execution)
        if code:
            raise CommandError(
                f"repair #{execution.pk}: {execution.worst_severity or execution.state}",
                returncode=code,
            )
