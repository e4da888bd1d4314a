"""The built-in worker: claims tasks through the router and runs them in this process.

`WorkerLoop.run_once()` is one unit of work (claim, execute, settle) so tests can drive it
step by step; `run()` repeats it until a stop is requested (SIGTERM, SIGINT or
`request_stop()`). A stop never abandons a task: the executor sees ``should_stop()`` and
either finishes or raises `HandBack`, which returns the task to the queue uncounted.

`run()` works `concurrency` tasks at once (`ENGINE_WORKER_CONCURRENCY`, 4), one thread each.
With one, a chat waited behind another user's answer, and an agent that made a task and
polled it never saw it run: its own run held the only thread. So, with two or more, one
thread is kept for kinds that are not long-running (`register_executor(...,
long_running=True)`: agent runs): a task an agent waits for always finds a thread. Each
thread holds one database connection, closed after every task it ran, so a worker holds at
most `concurrency` + 1 (heartbeats) connections, and while agent runs work, one more for
each run's model stream or tool call (docs/configuration.md).
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, close_old_connections, connection, connections

from engine.executors import (
    ExecutionContext,
    ExecutorRegistry,
    HandBack,
    LeaseLost,
    PermanentFailure,
    executors,
)
from engine.models import Task, Worker, WorkerState
from engine.services import (
    LeaseConflict,
    TaskNotFound,
    TaskRouter,
    WorkerUnavailable,
    complete_task,
    fail_task,
    heartbeat,
    holds_lease,
    release_task,
    set_worker_state,
)

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def default_worker_name() -> str:
    return f"builtin@{socket.gethostname()}"[:100]


@dataclass(frozen=True)
class WorkerConfig:
    name: str
    capabilities: list[str]
    concurrency: int = 1
    poll_seconds: float = 0.5


MAX_CONCURRENCY = 64


def worker_config(
    *, name: str, capabilities: str, concurrency: str | int, poll: str | float
) -> WorkerConfig:
    """Validate command-line style options; `ValueError` names the bad one in one line."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError(f"--name must be 1 to 100 characters, got {name!r}")
    known = executors.kinds()
    wanted = [kind.strip() for kind in capabilities.split(",") if kind.strip()] or known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise ValueError(
            f"--capabilities: no executor for {', '.join(unknown)}; known: {', '.join(known)}"
        )
    try:
        workers = int(concurrency)
    except ValueError:
        raise ValueError(f"--concurrency must be a whole number, got {concurrency!r}") from None
    if not 1 <= workers <= MAX_CONCURRENCY:
        raise ValueError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}, got {workers}")
    try:
        seconds = float(poll)
    except ValueError:
        raise ValueError(f"--poll must be a number of seconds, got {poll!r}") from None
    if not 0.01 <= seconds <= 60:
        raise ValueError(f"--poll must be between 0.01 and 60 seconds, got {seconds}")
    return WorkerConfig(name, sorted(set(wanted)), workers, seconds)


class Heartbeater:
    """Keeps the worker's heartbeat and its leases fresh from a thread of its own.

    The thread has its own database connection (Django's are per thread) and closes it when
    it ends, so a long task never holds a transaction open for its heartbeats.
    """

    def __init__(self, worker: Worker, *, interval: float) -> None:
        self.worker = worker
        self.interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{worker.name}", daemon=True
        )

    def __enter__(self) -> Heartbeater:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._done.wait(self.interval):
                try:
                    heartbeat(worker=self.worker)
                except DatabaseError:
                    log.warning("worker %s: heartbeat failed", self.worker.name, exc_info=True)
                    close_old_connections()
        finally:
            connections.close_all()


def release_connections() -> None:
    """After a unit of work: close this thread's connections; its next claim opens a fresh
    one. Nothing a task left on a connection (a broken one, a session setting, minutes of
    agent run) outlives it, and a thread never holds more than one. Not inside an atomic
    block (a test's)."""
    if not connection.in_atomic_block:
        connections.close_all()


def tidy_connections() -> None:
    """Drop this thread's connection if it broke or grew old, as Django does per request.

    Not inside an atomic block: closing there would throw away the caller's transaction (a
    test's, since the loop itself never holds one between tasks).
    """
    if not connection.in_atomic_block:
        close_old_connections()


def json_safe(result: Any) -> Any:
    """The executor's result as plain JSON values (dates, Decimals and UUIDs as strings)."""
    return json.loads(json.dumps(result, cls=DjangoJSONEncoder))


def describe(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def context_for_claim(
    worker: Worker, task: Task, *, should_stop: Callable[[], bool] = lambda: False
) -> ExecutionContext:
    """What an executor gets for the task `worker` claimed, as the claim returned it: its
    lease holds while this claim (its attempt and start) is the task's."""
    return ExecutionContext(
        task_id=task.pk,
        kind=task.kind,
        payload=task.payload if isinstance(task.payload, dict) else {},
        attempt=task.attempts,
        should_stop=should_stop,
        holds_lease=partial(
            holds_lease,
            worker=worker,
            task_id=task.pk,
            attempt=task.attempts,
            started_at=task.started_at,
        ),
    )


class WorkerLoop:
    def __init__(
        self,
        *,
        worker: Worker,
        registry: ExecutorRegistry = executors,
        router: TaskRouter | None = None,
        poll_seconds: float = 0.5,
        concurrency: int = 1,
        heartbeat_seconds: float | None = None,
    ) -> None:
        self.worker = worker
        self.registry = registry
        self.router = router or TaskRouter()
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency
        # A third of the lease: two heartbeats may be lost before a lease runs out.
        self.heartbeat_seconds = heartbeat_seconds or settings.ENGINE_LEASE_SECONDS / 3
        self._stop = threading.Event()
        self._heartbeating = False
        # The kinds a thread kept for short work claims; None when nothing is kept (one
        # thread, or a worker with only long-running kinds, or none).
        capabilities = list(worker.capabilities or [])
        short = [kind for kind in capabilities if not registry.long_running(kind)]
        keeps_one = concurrency >= 2 and bool(short) and len(short) < len(capabilities)
        self.short_kinds: list[str] | None = short if keeps_one else None

    def request_stop(self) -> None:
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    @contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """The first SIGTERM or SIGINT asks the loop to stop, a second one exits at once; the
        previous handlers come back after."""

        def handle(signum: int, frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            if self.should_stop():
                # Asked twice: leave now. The task keeps its lease until it runs out, and
                # the stuck detector gives it back to the queue.
                log.warning("worker %s: second %s, exiting at once", self.worker.name, name)
                raise SystemExit(1)
            log.info("worker %s: %s, stopping after the current task", self.worker.name, name)
            self.request_stop()

        previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run_once(self, *, only: list[str] | None = None) -> bool:
        """Claim one task (of the kinds in `only`, when given) and see it through; False
        when there was nothing to claim."""
        if self.should_stop():
            return False
        task = self.router.claim(self.worker, only=only)
        if task is None:
            return False
        if self._heartbeating:
            self.execute(task)
        else:
            with Heartbeater(self.worker, interval=self.heartbeat_seconds):
                self.execute(task)
        return True

    def run(self) -> None:
        """Work until a stop is requested, then mark the worker offline."""
        log.info(
            "worker %s: online, capabilities %s, concurrency %d%s",
            self.worker.name,
            ", ".join(self.worker.capabilities or []),
            self.concurrency,
            f" (one thread for {', '.join(self.short_kinds)})" if self.short_kinds else "",
        )
        with Heartbeater(self.worker, interval=self.heartbeat_seconds):
            self._heartbeating = True
            extra = [
                threading.Thread(target=self._loop, name=f"{self.worker.name}-{n}")
                for n in range(1, self.concurrency)
            ]
            if self.short_kinds is not None:
                extra[-1] = threading.Thread(
                    target=self._loop,
                    kwargs={"only": self.short_kinds},
                    name=f"{self.worker.name}-short",
                )
            try:
                for thread in extra:
                    thread.start()
                self._loop()
            finally:
                self.request_stop()  # the other threads too, however this one ended
                for thread in extra:
                    if thread.is_alive():
                        thread.join()
                self._heartbeating = False
        tidy_connections()
        set_worker_state(worker=self.worker, state=WorkerState.OFFLINE)
        log.info("worker %s: stopped", self.worker.name)

    def _loop(self, only: list[str] | None = None) -> None:
        try:
            while not self.should_stop():
                tidy_connections()
                try:
                    worked = self.run_once(only=only)
                    if worked:
                        release_connections()
                except WorkerUnavailable:
                    # Draining, or declared offline after a pause: the heartbeat thread
                    # refreshes the state, so wait and ask again.
                    worked = False
                except DatabaseError:
                    log.exception("worker %s: database error; pausing", self.worker.name)
                    worked = False
                if not worked:
                    self._stop.wait(self.poll_seconds)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connections.close_all()

    def execute(self, task: Task) -> None:
        """Run the executor for a task this worker holds and record how it ended."""
        executor = self.registry.get(task.kind)
        if executor is None:
            error = f"no executor for kind {task.kind!r} in this worker"
            self._settle(task, "failed", fail_task, error=error, retryable=False)
            return
        context = context_for_claim(self.worker, task, should_stop=self.should_stop)
        try:
            result = executor(context)
        except HandBack as exc:
            self._settle(task, "handed back", release_task, reason=str(exc) or "handed back")
            return
        except LeaseLost as exc:
            if context.holds_lease():  # it is ours after all: never leave it running
                error = f"the executor gave up a task it still held: {exc}"
                self._settle(task, "failed", fail_task, error=error, retryable=True)
            else:
                log.warning("task %s: lease lost (%s); no outcome recorded", task.pk, exc)
            return
        except PermanentFailure as exc:
            self._settle(task, "failed", fail_task, error=describe(exc), retryable=False)
            return
        except Exception as exc:
            # The boundary between our loop and someone's executor: whatever it raised is
            # recorded on the task and retried; the loop goes on.
            log.warning("task %s raised", task.pk, exc_info=True)
            self._settle(task, "failed", fail_task, error=describe(exc), retryable=True)
            return
        try:
            value = json_safe(result)
        except (TypeError, ValueError) as exc:
            error = f"result is not JSON-serialisable: {describe(exc)}"
            self._settle(task, "failed", fail_task, error=error, retryable=False)
            return
        self._settle(task, "done", complete_task, result=value)

    def _settle(
        self, task: Task, outcome: str, service: Callable[..., Task], **kwargs: Any
    ) -> None:
        try:
            # Named by its claim: a task claimed again meanwhile (by another of this worker's
            # threads, say) is the later claim's to settle, not ours.
            settled = service(
                worker=self.worker,
                task_id=task.pk,
                attempt=task.attempts,
                started_at=task.started_at,
                **kwargs,
            )
        except (LeaseConflict, TaskNotFound) as exc:
            # Cancelled, or requeued by the stuck detector while we worked: theirs stands.
            log.warning("task %s: %s; outcome %r dropped", task.pk, exc, outcome)
            return
        log.log(
            logging.DEBUG if outcome == "done" else logging.INFO,
            "task %s (%s): %s, now %s",
            task.pk,
            task.kind,
            outcome,
            settled.state,
        )
