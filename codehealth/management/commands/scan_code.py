"""Scan repositories now, in this process: a summary per scan, or one JSON object.

Exits non-zero only when a scan itself failed (not when it found something)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codehealth.models import Repository
from codehealth.services import scan_now
from codehealth.services.reporting import scan_data, scan_line
from engine.services.history import system_actor


class Command(BaseCommand):
    help = "Scan a repository (or every enabled one) now and print what the scan found."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repo", default="", help="The repository's name.")
        parser.add_argument("--ref", default="", help="A branch, tag or commit to scan.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["repo"]:
            repositories = list(Repository.objects.filter(name=options["repo"]))
            if not repositories:
                raise CommandError(f"no repository named {options['repo']!r}")
        else:
            repositories = list(Repository.objects.enabled())
            if not repositories:
                raise CommandError("no enabled repository to scan")
        scans = [
            scan_now(repository=r, ref=options["ref"], actor=system_actor("scan_code"))
            for r in repositories
        ]
        if options["json"]:
            self.stdout.write(json.dumps({"scans": [scan_data(s) for s in scans]}))
        else:
            for scan in scans:
                self.stdout.write(scan_line(scan))
        failed = [s for s in scans if s.status != "done"]
        if failed:
            raise CommandError(f"{len(failed)} scan(s) failed", returncode=1)
