"""Two repairs started at once never change more rows together than one repair's bounds.

Real threads, each with its own database connection, against a committed database: the
execution row is the lock, so the second start must be refused while the first runs.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from engine.models import Task, TaskState
from selfheal.errors import AlreadyRunning
from selfheal.models import ExecutionState, PlaybookExecution
from selfheal.services import run_repair
from tests.selfheal.factories import blocked_on_done

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 20


def blocked_step(execution: PlaybookExecution) -> dict[str, Any]:
    return next(s for s in execution.outcome["steps"] if s["name"] == "reset_blocked")


def in_thread(target: Any, results: dict[str, Any], key: str) -> threading.Thread:
    def body() -> None:
        try:
            results[key] = target()
        except AlreadyRunning as exc:
            results[key] = exc
        except Exception as exc:  # shown by the assertions, instead of lost in the thread
            results[key] = repr(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


def test_a_repair_started_while_another_runs_is_refused_and_bounds_hold() -> None:
    blocked_on_done(25)
    first_running = threading.Event()
    second_tried = threading.Event()
    results: dict[str, Any] = {}

    def hold(execution: PlaybookExecution, progress: dict[str, Any]) -> None:
        if progress["label"] == "Resetting blocked tasks" and not first_running.is_set():
            first_running.set()
            second_tried.wait(WAIT)

    first = in_thread(lambda: run_repair(triggered_by="user:a", observer=hold), results, "a")
    assert first_running.wait(WAIT)
    second = in_thread(lambda: run_repair(triggered_by="user:b"), results, "b")
    second.join(WAIT)
    second_tried.set()
    first.join(WAIT)

    assert isinstance(results["b"], AlreadyRunning)
    assert f"#{results['a'].pk}" in str(results["b"])
    assert results["a"].state == ExecutionState.DONE
    assert Task.objects.filter(state=TaskState.PENDING).count() == 10
    assert PlaybookExecution.objects.count() == 1


def test_two_repairs_released_together_change_at_most_one_bound_at_a_time() -> None:
    blocked_on_done(25)
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def start(who: str) -> Any:
        barrier.wait(WAIT)
        return run_repair(triggered_by=f"user:{who}")

    threads = [in_thread(lambda who=who: start(who), results, who) for who in ("a", "b")]
    for thread in threads:
        thread.join(WAIT)

    ran = [r for r in results.values() if isinstance(r, PlaybookExecution)]
    assert all(isinstance(r, PlaybookExecution | AlreadyRunning) for r in results.values()), results
    assert ran and all(r.state == ExecutionState.DONE for r in ran), [r.error for r in ran]
    for execution in ran:
        assert len(blocked_step(execution)["applied"]) <= 10
    if len(ran) == 2:
        # Both ran only because one had finished before the other began: never together.
        early, late = sorted(ran, key=lambda r: r.started_at)
        assert early.finished_at <= late.started_at, (early.finished_at, late.started_at)
    touched = [a for r in ran for a in blocked_step(r)["applied"]]
    assert len(touched) == len(set(touched))
    # Either one ran, or the second found the hour's bound used by the first.
    assert Task.objects.filter(state=TaskState.PENDING).count() == 10
