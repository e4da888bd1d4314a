from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

from engine.supervisor import ProcessSpec, Supervisor


def _sleeper(name: str, seconds: float = 30) -> ProcessSpec:
    return ProcessSpec(name, [sys.executable, "-c", f"import time; time.sleep({seconds})"])


def test_when_one_process_dies_the_others_are_stopped() -> None:
    out = io.StringIO()
    supervisor = Supervisor(
        [_sleeper("long"), ProcessSpec("short", [sys.executable, "-c", "raise SystemExit(3)"])],
        out=out,
    )

    code = supervisor.run()

    assert code == 3
    assert all(p.poll() is not None for p in supervisor.running.values())
    assert "short exited with 3" in out.getvalue()


def test_one_signal_stops_everything() -> None:
    supervisor = Supervisor([_sleeper("a"), _sleeper("b")], out=io.StringIO())
    # The handlers are installed by run(); trigger the stop from another thread.
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    timer.start()
    try:
        started = time.monotonic()
        code = supervisor.run()
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])

    assert code == 0
    assert time.monotonic() - started < 10
    assert all(p.poll() is not None for p in supervisor.running.values())
    assert all(isinstance(p, subprocess.Popen) for p in supervisor.running.values())
