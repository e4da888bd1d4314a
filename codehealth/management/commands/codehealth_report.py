"""Write the weekly report now: of the last complete week by default, or of the week a date
falls in (the current week gives the week so far). Prints each report's Markdown, or the
path it was written to with --out."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codehealth.models import Repository
from codehealth.services.weekly import last_complete_week, write_weekly_report
from codehealth.services.weekly_markdown import weekly_markdown
from engine.services.history import system_actor


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise CommandError(f"--week wants a date as YYYY-MM-DD, not {raw!r}") from exc


class Command(BaseCommand):
    help = "Write the weekly code-health report of each enabled repository (or one) now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repo", default="", help="The repository's name.")
        parser.add_argument(
            "--week", default="", help="A date in the week (default: the last complete week)."
        )
        parser.add_argument(
            "--out", default="", help="A folder to write each report's Markdown into."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        week = _day(options["week"]) if options["week"] else last_complete_week()
        if options["repo"]:
            repositories = list(Repository.objects.filter(name=options["repo"]))
            if not repositories:
                raise CommandError(f"no repository named {options['repo']!r}")
        else:
            repositories = list(Repository.objects.enabled())
            if not repositories:
                raise CommandError("no enabled repository to report on")
        out = Path(options["out"]) if options["out"] else None
        if out is not None and not out.is_dir():
            raise CommandError(f"--out {out} is not a folder")
        for repository in repositories:
            report = write_weekly_report(
                repository=repository, week_start=week, actor=system_actor("codehealth_report")
            )
            text = weekly_markdown(report)
            if out is None:
                self.stdout.write(text)
            else:
                target = out / report.markdown_filename
                target.write_text(text)
                self.stdout.write(f"{repository.name}: report #{report.pk} written to {target}")
