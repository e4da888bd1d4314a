"""`manage.py incidents`: the incidents, newest activity first."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidents.models import Incident, IncidentState


class Command(BaseCommand):
    help = "List incidents: id, state, age, groups, waiting reason, title."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--state", choices=[*IncidentState.values, "open"], default="")
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        incidents = Incident.objects.for_list()
        if options["state"] == "open":
            incidents = incidents.not_closed()
        elif options["state"]:
            incidents = incidents.filter(state=options["state"])
        rows = list(incidents[: max(options["limit"], 1)])
        if not rows:
            self.stdout.write("No incidents.")
            return
        for incident in rows:
            groups = len(incident.fingerprints.all())
            flags = " [demo]" if incident.demo else ""
            flags += " [offline]" if incident.offline else ""
            waiting = f" | waiting: {incident.waiting_reason}" if incident.waiting_reason else ""
            self.stdout.write(
                f"#{incident.pk:<5} {incident.state:<17} {incident.created_at:%Y-%m-%d %H:%M} "
                f"groups={groups} {incident.title[:80]}{flags}{waiting}"
            )
