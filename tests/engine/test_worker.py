from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from engine.executors import ExecutionContext, ExecutorRegistry, LeaseLost, executors
from engine.models import Task, TaskState, Worker, WorkerState
from engine.services import (
    TaskRouter,
    cancel_task,
    complete_task,
    create_task,
    retry_task,
    set_worker_state,
)
from engine.services.history import system_actor
from engine.worker import WorkerLoop, worker_config
from tests.factories import WorkerFactory

pytestmark = pytest.mark.django_db


def make_task(kind: str = "echo", **kwargs: Any) -> Task:
    return create_task(title=f"a {kind} task", kind=kind, **kwargs).task


def history(task: Task) -> list[tuple[str, str]]:
    return list(task.events.values_list("from_state", "to_state"))


def registry_with(kind: str, executor: Any) -> ExecutorRegistry:
    registry = ExecutorRegistry()
    registry.register(kind, executor)
    return registry


def test_run_once_executes_echo_and_completes_it() -> None:
    worker = WorkerFactory(capabilities=["echo"])
    task = make_task(payload={"say": "hi"})

    assert WorkerLoop(worker=worker).run_once() is True

    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert task.result == {"echo": {"say": "hi"}}
    assert task.lease_worker is None
    assert history(task) == [("", "pending"), ("pending", "running"), ("running", "done")]


def test_run_once_with_nothing_to_claim_returns_false() -> None:
    worker = WorkerFactory(capabilities=["echo"])
    make_task(kind="sleep")

    assert WorkerLoop(worker=worker).run_once() is False


def test_permanent_failure_fails_at_once() -> None:
    worker = WorkerFactory(capabilities=["echo"])
    task = make_task(payload={"fail": "bad input"}, max_attempts=3)

    WorkerLoop(worker=worker).run_once()

    task.refresh_from_db()
    assert task.state == TaskState.FAILED
    assert task.attempts == 1
    assert task.last_error == "PermanentFailure: bad input"


def test_an_exception_retries_with_backoff_then_fails_after_max_attempts() -> None:
    def flaky(context: ExecutionContext) -> Any:
        raise RuntimeError(f"boom {context.attempt}")

    worker = WorkerFactory(capabilities=["flaky"])
    loop = WorkerLoop(worker=worker, registry=registry_with("flaky", flaky))
    task = make_task(kind="flaky", max_attempts=2)

    loop.run_once()

    task.refresh_from_db()
    assert task.state == TaskState.PENDING
    assert task.attempts == 1
    assert task.last_error == "RuntimeError: boom 1"
    assert task.run_after > timezone.now()
    assert loop.run_once() is False, "still backing off"

    with time_machine.travel(task.run_after + timedelta(seconds=1)):
        assert loop.run_once() is True

    task.refresh_from_db()
    assert task.state == TaskState.FAILED
    assert task.attempts == 2
    assert task.last_error == "RuntimeError: boom 2"
    assert [to for _, to in history(task)] == [
        "pending",
        "running",
        "pending",
        "running",
        "failed",
    ]


def test_unknown_kind_fails_without_retry() -> None:
    worker = WorkerFactory(capabilities=["mystery"])
    task = make_task(kind="mystery", max_attempts=5)

    WorkerLoop(worker=worker, registry=ExecutorRegistry()).run_once()

    task.refresh_from_db()
    assert task.state == TaskState.FAILED
    assert "no executor for kind 'mystery'" in task.last_error


def test_result_is_stored_as_json_and_an_unserialisable_one_fails() -> None:
    results: list[Any] = [{"amount": Decimal("1.50")}, {"bad": object()}]
    worker = WorkerFactory(capabilities=["calc"])
    loop = WorkerLoop(worker=worker, registry=registry_with("calc", lambda _: results.pop(0)))
    good, bad = make_task(kind="calc"), make_task(kind="calc")

    loop.run_once()
    loop.run_once()

    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.state, good.result) == (TaskState.DONE, {"amount": "1.50"})
    assert bad.state == TaskState.FAILED
    assert bad.last_error.startswith("result is not JSON-serialisable: TypeError")


def test_completing_a_blocker_unblocks_its_dependents_with_their_history() -> None:
    worker = WorkerFactory(capabilities=["echo"])
    blocker = make_task()
    dependent = make_task(blocked_by=blocker)
    actor = f"worker:{worker.name}"

    WorkerLoop(worker=worker).run_once()

    def rows(task: Task) -> list[tuple[str, str, str, str]]:
        return list(task.events.values_list("from_state", "to_state", "actor", "note"))

    assert rows(blocker) == [
        ("", "pending", "system:user", "created"),
        ("pending", "running", actor, "claimed, attempt 1"),
        ("running", "done", actor, "completed"),
    ]
    assert rows(dependent) == [
        ("", "blocked", "system:user", "created"),
        ("blocked", "pending", actor, f"blocker #{blocker.pk} is done"),
    ]
    dependent.refresh_from_db()
    assert dependent.finished_at is None
    assert dependent.run_after <= timezone.now()


def test_on_postgresql_a_claim_and_a_completion_are_one_statement_each(
    django_assert_num_queries: Any,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement fast path is PostgreSQL's")
    worker = WorkerFactory(capabilities=["echo"])
    task = make_task()

    with django_assert_num_queries(2):
        claimed = TaskRouter().claim(worker)
        assert claimed is not None
        done = complete_task(worker=worker, task_id=claimed.pk, result={"ok": True})

    assert (claimed.pk, claimed.state, claimed.attempts) == (task.pk, TaskState.RUNNING, 1)
    assert (done.state, done.result, done.lease_worker_id) == (TaskState.DONE, {"ok": True}, None)


def test_the_hot_path_works_without_prepared_statements(settings: Any) -> None:
    settings.ENGINE_PREPARED_STATEMENTS = False
    worker = WorkerFactory(capabilities=["echo"])
    task = make_task(payload={"n": 2})

    assert WorkerLoop(worker=worker).run_once() is True

    task.refresh_from_db()
    assert (task.state, task.result) == (TaskState.DONE, {"echo": {"n": 2}})


def test_a_task_cancelled_while_running_stays_cancelled() -> None:
    def cancelled_meanwhile(context: ExecutionContext) -> Any:
        cancel_task(task_id=context.task_id, actor="user:olga")
        return "finished anyway"

    worker = WorkerFactory(capabilities=["slow"])
    task = make_task(kind="slow")

    WorkerLoop(worker=worker, registry=registry_with("slow", cancelled_meanwhile)).run_once()

    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    assert task.result is None


def test_an_executor_that_lost_its_lease_leaves_the_task_to_the_later_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stuck detector gave the task to another worker while this executor ran on: the
    executor sees it through holds_lease and ends; nothing it did is recorded."""
    seen: list[bool] = []

    def outlived_its_lease(context: ExecutionContext) -> Any:
        assert context.holds_lease() is True
        Task.objects.filter(pk=context.task_id).update(
            lease_worker=WorkerFactory(), attempts=context.attempt + 1
        )
        seen.append(context.holds_lease())
        raise LeaseLost("a later attempt runs it")

    worker = WorkerFactory(capabilities=["long"])
    task = make_task(kind="long")

    with caplog.at_level(logging.INFO, logger="engine.worker"):
        WorkerLoop(worker=worker, registry=registry_with("long", outlived_its_lease)).run_once()

    task.refresh_from_db()
    assert seen == [False]
    # Not taken for a failure of the attempt: no settlement was even tried.
    assert [r.getMessage() for r in caplog.records] == [
        f"task {task.pk}: lease lost (a later attempt runs it); no outcome recorded"
    ]
    assert (task.state, task.result, task.last_error) == (TaskState.RUNNING, None, "")
    assert task.lease_worker_id != worker.pk


def test_an_executor_that_never_checks_its_lease_does_not_settle_a_later_claim(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While it ran, its task was cancelled, retried and claimed by another thread of the
    same worker: the result it returns belongs to no live claim and is dropped."""
    later: list[Task] = []

    def unaware(context: ExecutionContext) -> Any:
        cancel_task(task_id=context.task_id, actor=system_actor("operator"))
        retry_task(task_id=context.task_id, actor=system_actor("operator"))
        claimed = TaskRouter().claim(worker)
        assert claimed is not None
        later.append(claimed)
        return {"from": "the first claim"}

    worker = WorkerFactory(capabilities=["unaware"], max_concurrency=2)
    task = make_task(kind="unaware")

    with caplog.at_level(logging.WARNING, logger="engine.worker"):
        WorkerLoop(worker=worker, registry=registry_with("unaware", unaware)).run_once()

    task.refresh_from_db()
    assert (task.state, task.result, task.started_at) == (
        TaskState.RUNNING,
        None,
        later[0].started_at,
    )
    assert "outcome 'done' dropped" in caplog.text


def test_an_executor_that_wrongly_says_it_lost_its_lease_does_not_leave_the_task_running() -> None:
    def mistaken(context: ExecutionContext) -> Any:
        raise LeaseLost("it thinks another attempt runs it")

    worker = WorkerFactory(capabilities=["confused"])
    task = make_task(kind="confused")

    WorkerLoop(worker=worker, registry=registry_with("confused", mistaken)).run_once()

    task.refresh_from_db()
    assert task.state == TaskState.PENDING, "retried, not left running on a live lease"
    assert "gave up a task it still held" in task.last_error


def test_sigterm_during_a_sleep_task_hands_it_back_uncounted() -> None:
    worker = WorkerFactory(capabilities=["sleep"])
    task = make_task(kind="sleep", payload={"seconds": 60})
    loop = WorkerLoop(worker=worker)
    # Delivered to this (the main) thread while the executor sleeps, as from `kill`.
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGTERM))

    with loop.stop_on_signals():
        timer.start()
        assert loop.run_once() is True

    timer.join()
    task.refresh_from_db()
    assert loop.should_stop()
    assert task.state == TaskState.PENDING
    assert task.attempts == 0
    assert task.lease_worker is None
    assert task.events.last().note == f"task {task.pk} handed back: worker stopping"
    assert loop.run_once() is False, "a stopping loop claims nothing"


def test_a_second_signal_exits_at_once_leaving_the_task_to_its_lease() -> None:
    def stubborn(context: ExecutionContext) -> Any:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # never looks at should_stop()
            time.sleep(0.02)
        return "too late"

    worker = WorkerFactory(capabilities=["stubborn"])
    task = make_task(kind="stubborn")
    loop = WorkerLoop(worker=worker, registry=registry_with("stubborn", stubborn))
    timers = [
        threading.Timer(delay, os.kill, args=(os.getpid(), signal.SIGTERM)) for delay in (0.1, 0.3)
    ]

    with loop.stop_on_signals(), pytest.raises(SystemExit):
        for timer in timers:
            timer.start()
        loop.run_once()

    for timer in timers:
        timer.join()
    task.refresh_from_db()
    assert (task.state, task.lease_worker_id) == (TaskState.RUNNING, worker.pk)


def test_run_works_until_stopped_then_goes_offline() -> None:
    done: list[int] = []
    worker = WorkerFactory(capabilities=["echo"])
    tasks = [make_task() for _ in range(3)]

    def echo_then_stop(context: ExecutionContext) -> Any:
        done.append(context.task_id)
        if len(done) == len(tasks):
            loop.request_stop()
        return "ok"

    loop = WorkerLoop(
        worker=worker, registry=registry_with("echo", echo_then_stop), poll_seconds=0.01
    )
    loop.run()

    assert sorted(done) == sorted(t.pk for t in tasks)
    assert set(Task.objects.values_list("state", flat=True)) == {TaskState.DONE}
    worker.refresh_from_db()
    assert worker.state == WorkerState.OFFLINE


def test_a_draining_worker_claims_nothing_but_the_loop_goes_on() -> None:
    worker = WorkerFactory(capabilities=["echo"])
    make_task()
    set_worker_state(worker=worker, state=WorkerState.DRAINING)
    loop = WorkerLoop(worker=worker, poll_seconds=0.01)
    threading.Timer(0.2, loop.request_stop).start()

    loop.run()

    assert Task.objects.get().state == TaskState.PENDING


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_extends_the_lease_while_a_task_runs() -> None:
    worker = WorkerFactory(capabilities=["wait"])
    registered_at = worker.last_heartbeat_at
    task = make_task(kind="wait")
    seen: dict[str, Any] = {}

    def wait_for_heartbeat(context: ExecutionContext) -> Any:
        first = Task.objects.get(pk=context.task_id).lease_expires_at
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            current = Task.objects.get(pk=context.task_id).lease_expires_at
            if current != first:
                seen["extended"] = current > first
                break
            time.sleep(0.02)
        return None

    loop = WorkerLoop(
        worker=worker, registry=registry_with("wait", wait_for_heartbeat), heartbeat_seconds=0.05
    )
    loop.run_once()

    assert seen == {"extended": True}
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert Worker.objects.get(pk=worker.pk).last_heartbeat_at > registered_at


@pytest.mark.django_db(transaction=True)
def test_concurrency_runs_every_task_exactly_once_on_threads() -> None:
    worker = WorkerFactory(capabilities=["echo"], max_concurrency=2)
    tasks = [make_task() for _ in range(8)]
    done: list[int] = []
    lock = threading.Lock()

    def echo_then_stop(context: ExecutionContext) -> Any:
        with lock:
            done.append(context.task_id)
            if len(done) == len(tasks):
                loop.request_stop()
        return "ok"

    registry = registry_with("echo", echo_then_stop)
    loop = WorkerLoop(worker=worker, registry=registry, concurrency=2, poll_seconds=0.01)
    loop.run()

    assert sorted(done) == sorted(t.pk for t in tasks)
    assert Task.objects.filter(state=TaskState.DONE).count() == len(tasks)


def test_worker_config_names_the_bad_option() -> None:
    good = worker_config(name=" w1 ", capabilities="sleep, echo", concurrency="2", poll="0.2")
    assert (good.name, good.capabilities, good.concurrency, good.poll_seconds) == (
        "w1",
        ["echo", "sleep"],
        2,
        0.2,
    )
    assert worker_config(name="w", capabilities="", concurrency=1, poll=1).capabilities == (
        executors.kinds()
    )
    for options, message in [
        ({"capabilities": "echo,teleport"}, "no executor for teleport"),
        ({"concurrency": "many"}, "--concurrency must be a whole number"),
        ({"concurrency": "0"}, "--concurrency must be between 1 and 64"),
        ({"poll": "soon"}, "--poll must be a number"),
        ({"name": ""}, "--name must be 1 to 100 characters"),
    ]:
        args = {"name": "w", "capabilities": "echo", "concurrency": "1", "poll": "0.5"} | options
        with pytest.raises(ValueError, match=message):
            worker_config(**args)


def test_run_worker_once_runs_one_task(capsys: pytest.CaptureFixture[str]) -> None:
    task = make_task(payload={"n": 1})

    call_command("run_worker", "--once", "--name", "cli-worker", "--capabilities", "echo")

    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert task.events.last().actor == "worker:cli-worker"
    worker = Worker.objects.get(name="cli-worker")
    assert worker.builtin and worker.capabilities == ["echo"]
    assert "ran one task" in capsys.readouterr().out


def test_run_worker_rejects_bad_arguments_in_one_line() -> None:
    with pytest.raises(CommandError, match="--concurrency must be a whole number, got 'x'"):
        call_command("run_worker", "--once", "--concurrency", "x")
    assert not Worker.objects.exists()
