"""`manage.py crawl_logs [--source NAME]`: crawl every enabled source now, or one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from logcrawler.errors import SourceNotFound
from logcrawler.services import EvaluationReport, crawl_sources, evaluate_alert_rules


class Command(BaseCommand):
    help = "Crawl every enabled log source (or the one named), then evaluate the alert rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", default="", help="Crawl only this source (by name).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            reports = crawl_sources(name=options["source"])
        except SourceNotFound as exc:
            raise CommandError(str(exc)) from None
        if not reports:
            self.stdout.write("no enabled source to crawl")
        alerts = EvaluationReport()
        for report in reports:
            self.stdout.write(report.line())
            # The new-fingerprint rules run at ingest, inside the crawl: count them too.
            alerts.merge(report.alerts)
        alerts.merge(evaluate_alert_rules())
        self.stdout.write(
            f"alerts: {len(alerts.opened)} opened, {len(alerts.fired)} fired, "
            f"{len(alerts.resolved)} resolved"
        )
        if any(report.status == "error" for report in reports):
            raise CommandError("some sources failed; see above")
