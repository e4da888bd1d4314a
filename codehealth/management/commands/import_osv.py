"""Load an OSV snapshot (``PyPI/all.zip``, ``npm/all.zip``, a folder or a JSON file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codehealth.dependencies.osv import OsvImportError, import_osv


class Command(BaseCommand):
    help = "Import OSV vulnerability records (PyPI and npm) for the dependency audit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="An OSV all.zip, a folder or a .json file.")

    def handle(self, *args: Any, **options: Any) -> None:
        for path in options["paths"]:
            try:
                run = import_osv(Path(path))
            except (OsvImportError, OSError) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{path}: {run.records} advisories ({', '.join(run.ecosystems) or 'none'})"
            )
