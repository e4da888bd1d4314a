from typing import Any

from django.core.management.base import BaseCommand

from engine.services.demo import seed_demo_data


class Command(BaseCommand):
    help = "Load demo data for every app (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in seed_demo_data():
            self.stdout.write(f"Demo data, {line}")
