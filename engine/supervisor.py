"""Runs the whole system as one foreground program: Daphne, the django-q2 cluster and the
built-in worker, stopped together by one Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

STOP_GRACE_SECONDS = 15


class Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]


def system_processes(*, host: str, port: int, worker_name: str) -> list[ProcessSpec]:
    python = sys.executable
    # The module, not a manage.py file, so that an installed package runs the same way; the
    # children inherit this process's environment (with the checkout's .env already read).
    manage = [python, "-m", "config.manage"]
    return [
        ProcessSpec(
            "web",
            [python, "-m", "config.daphne", "-b", host, "-p", str(port), "config.asgi:application"],
        ),
        ProcessSpec("jobs", [*manage, "qcluster"]),
        ProcessSpec("worker", [*manage, "run_worker", "--name", worker_name]),
    ]


class Supervisor:
    """Starts the processes, and stops all of them when one dies or a signal arrives."""

    def __init__(self, specs: list[ProcessSpec], *, out: Writer) -> None:
        self.specs = specs
        self.out = out
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        for spec in self.specs:
            # Own process group: a terminal's Ctrl-C reaches only us, and we stop the
            # children in order, each with its grace period.
            self.running[spec.name] = subprocess.Popen(spec.argv, process_group=0)  # noqa: S603
            self.out.write(f"started {spec.name} (pid {self.running[spec.name].pid})\n")
        exit_code = 0
        while not self.stopping:
            for name, process in self.running.items():
                code = process.poll()
                if code is not None:
                    self.out.write(f"{name} exited with {code}; stopping the others\n")
                    exit_code = code or 1
                    self.stopping = True
                    break
            time.sleep(0.2)
        self.stop()
        return exit_code

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in self.running.items():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.out.write(f"{name} did not stop in {STOP_GRACE_SECONDS}s; killing it\n")
                process.kill()
                process.wait()
        self.out.write("stopped\n")
