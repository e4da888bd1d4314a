"""The production topology of docs/deployment.md as processes on this machine.

Every process is started the way deploy/systemd starts it (``juggernaut-daphne
config.asgi:application``, ``juggernaut run_worker``, ``juggernaut qcluster``) with the same
environment, and shares nothing with the others but PostgreSQL and Redis. Each connects to
PostgreSQL under its own ``application_name``, so `pg_stat_activity` tells who holds which
connection.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APP_PREFIX = "jg-topology-"
# Each worker works this many tasks at once (docs/deployment.md's C); its connections follow.
WORKER_CONCURRENCY = 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(application_name: str) -> str:
    """The test database, as a DATABASE_URL naming who connects."""
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return (
        f"postgres://{auth}@{host}:{port}/{quote(db['NAME'])}?application_name={application_name}"
    )


def connect() -> psycopg.Connection[Any]:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or "5432",
        autocommit=True,
    )


def connections_by_process(conn: psycopg.Connection[Any] | None = None) -> Counter[str]:
    """Open connections of the topology's processes, by the role in their application name."""
    with contextlib.nullcontext(conn) if conn else connect() as db:
        rows = db.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE %s"
            " GROUP BY application_name",
            [APP_PREFIX + "%"],
        ).fetchall()
    return Counter({name.removeprefix(APP_PREFIX): n for name, n in rows})


class ConnectionSampler:
    """Counts the topology's connections every 20 ms, in a thread with its own connection:
    the most each process held, and the most all held at once (with who held them)."""

    def __init__(self) -> None:
        self.per_process: Counter[str] = Counter()
        self.busiest: Counter[str] = Counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(10)

    def _run(self) -> None:
        with connect() as conn:
            while not self._done.wait(0.02):
                now = connections_by_process(conn)
                for role, count in now.items():
                    self.per_process[role] = max(self.per_process[role], count)
                if sum(now.values()) > sum(self.busiest.values()):
                    self.busiest = now


@dataclass
class Process:
    role: str  # web-a, worker-1, jobs-1 ...
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    killed: bool = False  # on purpose: its death is no failure

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env={**self.env, "DATABASE_URL": database_url(APP_PREFIX + self.role)},
                stdout=out,
                stderr=subprocess.STDOUT,
                # A group of its own: a cluster's forked processes can be killed with it.
                process_group=0,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """kill -9: no handler runs, nothing is handed back."""
        assert self.popen is not None
        self.killed = True
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self) -> None:
        """SIGTERM to the main process only, as systemd's KillMode=mixed and `docker stop`
        send it: a django-q2 cluster whose forked processes are signalled too never ends."""
        if self.alive:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGTERM)

    def reap(self, deadline: float) -> None:
        """Wait for it until `deadline`; then kill whatever of its group is left."""
        if self.popen is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(max(deadline - time.monotonic(), 0.1))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        self.terminate()
        self.reap(time.monotonic() + 15)

    def tail(self) -> str:
        return f"--- {self.role}\n{self.log.read_text(errors='replace')[-3000:]}"


@dataclass
class Topology:
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, Process] = field(default_factory=dict)
    clusters_started_at: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def add(self, role: str, argv: list[str], *, port: int | None = None) -> Process:
        process = Process(role, argv, self.env, self.log_dir / f"{role}.log", port)
        self.processes[role] = process
        return process.start()

    def web(self, role: str, port: int | None = None) -> Process:
        port = port or free_port()
        daphne = [sys.executable, "-m", "config.daphne", "-b", "127.0.0.1", "-p", str(port)]
        return self.add(role, [*daphne, "--proxy-headers", "config.asgi:application"], port=port)

    def worker(self, role: str) -> Process:
        return self.add(
            role,
            [
                *manage(),
                "run_worker",
                "--name",
                role,
                "--poll",
                "0.1",
                "--concurrency",
                str(WORKER_CONCURRENCY),
            ],
        )

    def cluster(self, role: str) -> Process:
        return self.add(role, [*manage(), "qcluster"])

    def restart(self, role: str) -> Process:
        old = self.processes[role]
        old.stop()
        return self.add(role, old.argv, port=old.port)

    def http(self, role: str) -> str:
        return f"http://127.0.0.1:{self.processes[role].port}"

    def ws(self, role: str) -> str:
        return f"ws://127.0.0.1:{self.processes[role].port}"

    def wait_listening(self, role: str, seconds: float = 60) -> None:
        port = self.processes[role].port
        assert port is not None
        self.wait_for(lambda: _listening(port), seconds=seconds, what=f"{role} to listen")

    def wait_for(self, condition: Callable[[], Any], *, seconds: float, what: str) -> Any:
        """Poll `condition` until truthy; fail early, with the logs, when a process died."""
        deadline = time.monotonic() + seconds
        while True:
            value = condition()
            if value:
                return value
            dead = [p.role for p in self.processes.values() if not (p.alive or p.killed)]
            if dead or time.monotonic() > deadline:
                reason = f"{dead} exited" if dead else f"gave up after {seconds}s"
                raise AssertionError(f"{reason} waiting for {what}\n{self.logs()}")
            time.sleep(0.1)

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes.values())

    def stop(self) -> None:
        """All at once, as a host shutting down would: SIGTERM, then 15 s to finish."""
        for process in self.processes.values():
            process.terminate()
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            process.reap(deadline)


def manage() -> list[str]:
    """`juggernaut`, the installed package's manage.py, as the systemd units run it."""
    return [sys.executable, "-m", "config.manage"]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def listening(port: int, *, seconds: float) -> bool:
    """Whether something listens on `port` within `seconds`."""
    deadline = time.monotonic() + seconds
    while not _listening(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def base_env(**extra: str) -> dict[str, str]:
    """One environment for every process, as deploy/juggernaut.env.example gives them."""
    keep = {"PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV"}
    return {
        **{name: value for name, value in os.environ.items() if name in keep},
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_COOKIES": "false",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
