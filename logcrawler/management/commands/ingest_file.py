"""`manage.py ingest_file PATH [--service NAME]`: read a log file into the crawler once.

The file becomes a file source (named after its path), so running the command again reads
only what was added since, and the schedule may keep following it if it stays enabled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from logcrawler.services.files import file_source_for


class Command(BaseCommand):
    help = "Ingest a log file (new lines only, when run again) as a file source."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The log file.")
        parser.add_argument("--service", default="", help="Service name for its entries.")
        parser.add_argument(
            "--follow",
            action="store_true",
            help="Leave the source enabled, so the schedule keeps reading the file.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"]).expanduser()
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise CommandError(f"{path}: cannot read it ({exc.strerror})") from None
        report = file_source_for(
            path=path.resolve(), service=options["service"], follow=options["follow"]
        )
        self.stdout.write(report.line())
        if report.status == "error":
            raise CommandError(report.detail or "the file could not be read")
