from typing import Any

from django.core.management.base import BaseCommand, CommandError

from engine.supervisor import Supervisor, system_processes


class Command(BaseCommand):
    help = "Run Daphne, the django-q2 cluster and the built-in worker; Ctrl-C stops them all."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--worker-name", default="builtin")

    def handle(self, *args: Any, host: str, port: int, worker_name: str, **options: Any) -> None:
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, got {port}")
        self.stdout.write(f"Juggernaut on http://{host}:{port}/  (Ctrl-C stops everything)")
        specs = system_processes(host=host, port=port, worker_name=worker_name)
        code = Supervisor(specs, out=self.stdout).run()
        if code:
            raise CommandError(f"a process exited with code {code}")
