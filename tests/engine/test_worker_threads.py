"""A worker's threads: several tasks at once by default, one thread kept for short work while
long-running kinds (agent runs) hold the others, one connection per thread closed after
every task."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.backends.signals import connection_created

from engine.executors import ExecutionContext, ExecutorRegistry
from engine.models import Task, TaskState, Worker
from engine.services import create_task
from engine.worker import WorkerLoop
from tests.factories import WorkerFactory

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 30


def test_the_built_in_worker_runs_several_tasks_at_once_by_default(settings: Any) -> None:
    assert settings.ENGINE_WORKER_CONCURRENCY == 4
    create_task(title="t", kind="echo")

    call_command("run_worker", "--once", "--name", "defaults", "--capabilities", "echo")

    assert Worker.objects.get(name="defaults").max_concurrency == 4
    settings.ENGINE_WORKER_CONCURRENCY = 2
    call_command("run_worker", "--once", "--name", "two", "--capabilities", "echo")
    assert Worker.objects.get(name="two").max_concurrency == 2


def test_long_runs_take_all_threads_but_one_which_runs_the_short_work_they_wait_for() -> None:
    worker = WorkerFactory(capabilities=["long", "short"], max_concurrency=3)
    release = threading.Event()
    started: list[int] = []
    short_done = threading.Event()
    lock = threading.Lock()

    def long(context: ExecutionContext) -> Any:
        with lock:
            started.append(context.task_id)
        release.wait(WAIT)  # an agent run waiting for the short task it made
        return "long done"

    def short(context: ExecutionContext) -> Any:
        short_done.set()
        return "short done"

    registry = ExecutorRegistry()
    registry.register("long", long, long_running=True)
    registry.register("short", short)
    longs = [create_task(title=f"long {n}", kind="long", priority=90).task for n in range(3)]
    waited_for = create_task(title="short", kind="short", priority=10).task
    loop = WorkerLoop(worker=worker, registry=registry, concurrency=3, poll_seconds=0.01)
    assert loop.short_kinds == ["short"]
    runner = threading.Thread(target=loop.run)
    runner.start()
    try:
        deadline = time.monotonic() + WAIT
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert short_done.wait(WAIT), "the short task ran while long runs held the others"
        time.sleep(0.3)  # time enough for a third long run to start, were a thread free
        with lock:
            assert len(started) == 2, "two long runs at once: the third thread is kept"
        third = Task.objects.get(pk=longs[2].pk)
        assert third.state == TaskState.PENDING, "the third long run waits for a thread"
    finally:
        release.set()
        loop.request_stop()
        runner.join(WAIT)
    assert Task.objects.get(pk=waited_for.pk).state == TaskState.DONE


def test_one_thread_or_only_long_kinds_keeps_nothing_back() -> None:
    registry = ExecutorRegistry()
    registry.register("long", lambda context: None, long_running=True)
    registry.register("short", lambda context: None)
    both = WorkerFactory(capabilities=["long", "short"])
    only_long = WorkerFactory(capabilities=["long"])

    assert WorkerLoop(worker=both, registry=registry, concurrency=1).short_kinds is None
    assert WorkerLoop(worker=only_long, registry=registry, concurrency=4).short_kinds is None


def test_each_thread_closes_its_connection_after_every_task() -> None:
    worker = WorkerFactory(capabilities=["echo"], max_concurrency=2)
    opened: dict[str, int] = {}
    ran: dict[str, int] = {}
    lock = threading.Lock()
    total = 8

    def count_open(sender: Any, connection: Any, **kwargs: Any) -> None:
        name = threading.current_thread().name
        with lock:
            opened[name] = opened.get(name, 0) + 1

    def echo(context: ExecutionContext) -> Any:
        name = threading.current_thread().name
        assert connection.connection is not None
        with lock:
            ran[name] = ran.get(name, 0) + 1
            if sum(ran.values()) == total:
                loop.request_stop()
        return "ok"

    registry = ExecutorRegistry()
    registry.register("echo", echo)
    for n in range(total):
        create_task(title=f"echo {n}", kind="echo")
    loop = WorkerLoop(worker=worker, registry=registry, concurrency=2, poll_seconds=0.01)
    connection_created.connect(count_open, dispatch_uid="count-open")
    try:
        runner = threading.Thread(target=loop.run, name="main-loop")
        runner.start()
        runner.join(WAIT)
    finally:
        connection_created.disconnect(dispatch_uid="count-open")

    assert sum(ran.values()) == total
    for name, tasks in ran.items():
        # A connection for each task the thread ran (it was closed after the one before).
        assert opened.get(name, 0) >= tasks, (name, opened, ran)
