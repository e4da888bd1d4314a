"""`manage.py run_worker`: the built-in worker process."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.services import ensure_builtin_worker
from engine.worker import WorkerLoop, default_worker_name, worker_config


class Command(BaseCommand):
    help = "Claim and run tasks in this process until SIGTERM or SIGINT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--capabilities",
            default="",
            help="Comma-separated task kinds to run (default: every registered executor).",
        )
        parser.add_argument("--name", default=default_worker_name(), help="Worker name.")
        parser.add_argument(
            "--concurrency",
            default=str(settings.ENGINE_WORKER_CONCURRENCY),
            help="Tasks at once, one thread each (default: ENGINE_WORKER_CONCURRENCY).",
        )
        parser.add_argument("--poll", default="0.5", help="Seconds to wait when idle.")
        parser.add_argument("--once", action="store_true", help="Run at most one task, exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = worker_config(
                name=options["name"],
                capabilities=options["capabilities"],
                concurrency=options["concurrency"],
                poll=options["poll"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        worker = ensure_builtin_worker(
            name=config.name,
            capabilities=config.capabilities,
            max_concurrency=config.concurrency,
        )
        loop = WorkerLoop(
            worker=worker, poll_seconds=config.poll_seconds, concurrency=config.concurrency
        )
        self.stdout.write(f"worker {worker.name}: {', '.join(config.capabilities)}")
        with loop.stop_on_signals():
            if options["once"]:
                worked = loop.run_once()
                self.stdout.write("ran one task" if worked else "nothing to claim")
            else:
                loop.run()
        self.stdout.write(f"worker {worker.name}: stopped")
