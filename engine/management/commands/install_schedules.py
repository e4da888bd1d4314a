"""`manage.py install_schedules`: write the declared periodic jobs as django-q2 schedules."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from engine.schedules import install_schedules


class Command(BaseCommand):
    help = "Create, update or remove django-q2 schedules to match those declared in code."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = install_schedules()
        except ImportError as exc:
            raise CommandError(
                f"a declared schedule's function cannot be imported: {exc}"
            ) from None
        for verb, names in (
            ("created", report.created),
            ("updated", report.updated),
            ("removed", report.removed),
            ("unchanged", report.unchanged),
        ):
            for name in names:
                self.stdout.write(f"{verb}: {name}")
        if not report.changed:
            self.stdout.write("schedules already up to date")
