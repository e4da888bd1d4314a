"""Run a slow call (a model's stream, a tool) so that the loop can walk away from it.

The call runs in a thread of its own; the loop waits in short slices, and between slices
checks the Stop control and the clock, flushes streamed tokens and ticks the meters. A
Python thread cannot be killed: one abandoned on Stop or timeout finishes in the background
and its result is dropped (tools get a `cancelled` event they may poll to end early).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections

SLICE_SECONDS = 0.05


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    aborted: str = ""  # why the loop walked away (a StopReason value)
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return not self.aborted and not self.timed_out


def run_interruptible(
    call: Callable[[], Any],
    *,
    should_abort: Callable[[], str],
    on_tick: Callable[[], None] = lambda: None,
    timeout: float | None = None,
    name: str = "chat-call",
) -> Outcome:
    """Run `call` in a thread; return when it ends, when `should_abort()` names a reason, or
    after `timeout` seconds, whichever comes first."""
    outcome = Outcome()
    done = threading.Event()

    def target() -> None:
        try:
            outcome.value = call()
        except BaseException as exc:  # handed to the caller, who decides what it means
            outcome.error = exc
        finally:
            # Django's connections are per thread; this one's ends with the thread.
            connections.close_all()
            done.set()

    started = time.monotonic()
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    while not done.wait(SLICE_SECONDS):
        on_tick()
        elapsed = time.monotonic() - started
        if timeout is not None and elapsed >= timeout:
            outcome.timed_out = True
            break
        reason = should_abort()
        if reason:
            outcome.aborted = reason
            break
    outcome.seconds = time.monotonic() - started
    on_tick()
    if not outcome.finished:
        # The thread may still finish; what it returns now must not be mistaken for a result.
        return Outcome(
            aborted=outcome.aborted, timed_out=outcome.timed_out, seconds=outcome.seconds
        )
    return outcome
