"""The executor registry: how other apps teach the engine a kind of work.

An app registers a function for a kind in its ``AppConfig.ready()``; the engine calls it
for each claimed task of that kind and never imports the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class HandBack(Exception):
    """Raised by an executor that stops early (the worker is shutting down): the task goes
    back to the queue and the attempt does not count."""


class LeaseLost(Exception):
    """Raised by an executor that found, between units of work, that its attempt no longer
    holds the task (`ExecutionContext.holds_lease`): a later attempt owns it, so this one
    ends without recording an outcome."""


class PermanentFailure(Exception):
    """Raised by an executor when retrying cannot help: the task fails at once."""


@dataclass
class ExecutionContext:
    task_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    should_stop: Callable[[], bool] = field(default=lambda: False)
    # Whether this attempt still holds the task: False once the stuck detector gave it to
    # another worker (this worker's heartbeats stopped while its executor ran on). An
    # executor that runs long asks between units of work, and ends without a trace if not.
    holds_lease: Callable[[], bool] = field(default=lambda: True)

    def check_stop(self) -> None:
        """Call between units of work; raises `HandBack` once the worker wants to stop."""
        if self.should_stop():
            raise HandBack(f"task {self.task_id} handed back: worker stopping")


Executor = Callable[[ExecutionContext], Any]


class ExecutorRegistry:
    def __init__(self) -> None:
        self._executors: dict[str, Executor] = {}
        self._long_running: set[str] = set()

    def register(
        self, kind: str, executor: Executor, *, replace: bool = False, long_running: bool = False
    ) -> None:
        """`long_running`: a task of this kind may hold its thread for minutes (an agent
        run); a worker with several threads keeps one of them for the other kinds."""
        if kind in self._executors and not replace and self._executors[kind] is not executor:
            raise ValueError(f"an executor for kind {kind!r} is already registered")
        self._executors[kind] = executor
        if long_running:
            self._long_running.add(kind)
        else:
            self._long_running.discard(kind)

    def long_running(self, kind: str) -> bool:
        return kind in self._long_running

    def get(self, kind: str) -> Executor | None:
        return self._executors.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._executors)


executors = ExecutorRegistry()


def register_executor(
    kind: str, executor: Executor, *, replace: bool = False, long_running: bool = False
) -> None:
    executors.register(kind, executor, replace=replace, long_running=long_running)
