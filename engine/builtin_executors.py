"""Kinds of work the engine itself can do: useful for demos, smoke tests and benchmarks."""

from __future__ import annotations

import time
from typing import Any

from engine.executors import ExecutionContext, PermanentFailure, register_executor


def echo(context: ExecutionContext) -> Any:
    """Returns its payload: proves the path from queue to worker and back."""
    if context.payload.get("fail"):
        raise PermanentFailure(str(context.payload["fail"]))
    return {"echo": context.payload}


def sleep(context: ExecutionContext) -> Any:
    """Sleeps for ``payload.seconds``, giving way within 0.1 s when the worker stops."""
    seconds = float(context.payload.get("seconds", 1))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        context.check_stop()
        time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))
    return {"slept": seconds}


def register() -> None:
    register_executor("echo", echo)
    register_executor("sleep", sleep)
