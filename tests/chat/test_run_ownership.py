"""A run is one worker's at a time: a task that is not the session's current run task leaves
the session alone, and the run task's engine timeout follows a raised time budget, so the
stuck detector never hands a live run to a second worker."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from chat.executor import execute_agent
from chat.models import ChatEvent, ChatSession, SessionState
from chat.services import post_message, set_budgets
from chat.services.budgets import BudgetLimits
from chat.services.loop import AgentLoop
from chat.services.runs import AGENT_KIND, RUN_TIMEOUT_MARGIN_SECONDS
from chat.stop_reasons import StopReason
from engine.executors import ExecutionContext, LeaseLost
from engine.models import Task, TaskState, Worker
from engine.services import StuckTaskDetector, TaskRouter, create_task, holds_lease
from routing.models import Policy
from tests.chat.conftest import make_session
from tests.chat.scripted import Reply, ScriptedProvider
from tests.factories import WorkerFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


def queued_run(user: Any) -> tuple[ChatSession, Task]:
    """A session whose message queued a run task, as the API does."""
    session = make_session(user)
    post_message(session_id=session.pk, user=user, content="list workers")
    session.refresh_from_db()
    assert session.current_task is not None
    return session, session.current_task


def context_for(task: Task, attempt: int = 1) -> ExecutionContext:
    return ExecutionContext(task_id=task.pk, kind=AGENT_KIND, payload=task.payload, attempt=attempt)


def test_a_task_that_is_not_the_sessions_current_one_leaves_it_alone(user: Any) -> None:
    session, current = queued_run(user)
    # The current task's worker is running the session right now.
    ChatSession.objects.filter(pk=session.pk).update(state=SessionState.THINKING)
    stale = create_task(title="an old run task", kind=AGENT_KIND, payload={"session": session.pk})
    before = session.last_seq

    result = execute_agent(context_for(stale.task, attempt=2))

    assert result == {"session": session.pk, "skipped": f"the run is task #{current.pk}'s"}
    session.refresh_from_db()
    assert session.state == SessionState.THINKING
    assert (session.last_seq, session.steps_used) == (before, 0)
    assert not ChatEvent.objects.filter(session=session, seq__gt=before).exists()


def test_the_current_task_runs_the_session(user: Any) -> None:
    session, current = queued_run(user)

    result = execute_agent(context_for(current))

    assert result == {"session": session.pk, "stop_reason": "completed"}
    session.refresh_from_db()
    assert (session.state, session.steps_used > 0) == (SessionState.IDLE, True)


def test_a_loop_with_no_task_runs_whatever_the_current_task(user: Any) -> None:
    """The terminal command runs the loop in-process, with no engine task of its own."""
    session, _ = queued_run(user)

    assert AgentLoop(session.pk, provider=ScriptedProvider([])).run() == StopReason.COMPLETED


def running_on_a_worker(task: Task) -> Task:
    worker = WorkerFactory(capabilities=[AGENT_KIND])
    claimed = TaskRouter().claim(worker)
    assert claimed is not None and claimed.pk == task.pk
    return claimed


def test_raising_the_time_budget_mid_run_extends_the_run_tasks_timeout(user: Any) -> None:
    session, task = queued_run(user)
    task = running_on_a_worker(task)
    old_limit = BudgetLimits.for_session(session).seconds
    assert task.timeout_seconds == old_limit + RUN_TIMEOUT_MARGIN_SECONDS

    set_budgets(session_id=session.pk, limits={"max_seconds": old_limit + 3600})

    task.refresh_from_db()
    assert task.timeout_seconds == old_limit + 3600 + RUN_TIMEOUT_MARGIN_SECONDS
    # Past the old timeout, with the worker alive and its lease fresh: still its run.
    assert task.started_at is not None
    later = task.started_at + timedelta(seconds=old_limit + RUN_TIMEOUT_MARGIN_SECONDS + 60)
    Task.objects.filter(pk=task.pk).update(lease_expires_at=later + timedelta(minutes=1))
    Worker.objects.filter(pk=task.lease_worker_id).update(last_heartbeat_at=later)
    report = StuckTaskDetector(now=later).run()
    task.refresh_from_db()
    assert (report.timed_out, task.state) == ([], TaskState.RUNNING)


def test_lowering_the_time_budget_leaves_the_timeout_alone(user: Any) -> None:
    session, task = queued_run(user)
    before = task.timeout_seconds

    set_budgets(session_id=session.pk, limits={"max_seconds": 5})

    task.refresh_from_db()
    assert task.timeout_seconds == before


def test_an_idle_sessions_old_task_is_not_touched(user: Any) -> None:
    session, task = queued_run(user)
    execute_agent(context_for(task))
    task.refresh_from_db()
    before = task.timeout_seconds

    set_budgets(session_id=session.pk, limits={"max_seconds": 99_999})

    task.refresh_from_db()
    assert task.timeout_seconds == before


def test_the_loop_extends_its_task_when_the_modes_policy_raised_the_time(user: Any) -> None:
    session, task = queued_run(user)
    policy = Policy.objects.get(mode=session.mode)
    policy.max_seconds += 7200
    policy.save()

    reason = AgentLoop(
        session.pk, task_id=task.pk, provider=ScriptedProvider([Reply(text="ok")])
    ).run()

    assert reason == StopReason.COMPLETED
    task.refresh_from_db()
    assert task.timeout_seconds == policy.max_seconds + RUN_TIMEOUT_MARGIN_SECONDS


def test_a_run_that_lost_its_lease_stops_before_its_next_step_and_leaves_the_session(
    user: Any,
) -> None:
    """The worker's heartbeats stopped while its loop ran on; the stuck detector gave the
    run task to another worker. The first loop notices before its next step and ends
    without touching the session, which is the later attempt's now."""
    session, task = queued_run(user)
    first = running_on_a_worker(task)
    assert first.lease_worker is not None
    second_worker = WorkerFactory(capabilities=[AGENT_KIND])

    def answer_then_lose_the_lease(request: Any) -> Reply:
        # While the first step's model call is under way, the task changes hands.
        Task.objects.filter(pk=task.pk).update(
            lease_worker=second_worker, attempts=first.attempts + 1
        )
        return Reply(text="checking", calls=[("list_workers", {})])

    provider = ScriptedProvider([answer_then_lose_the_lease])
    context = ExecutionContext(
        task_id=task.pk,
        kind=AGENT_KIND,
        payload=task.payload,
        attempt=first.attempts,
        holds_lease=partial(
            holds_lease, worker=first.lease_worker, task_id=task.pk, attempt=first.attempts
        ),
    )
    loop = AgentLoop(
        session.pk, task_id=task.pk, provider=provider, holds_lease=context.holds_lease
    )

    loop.run()

    assert loop.lease_lost is True
    assert len(provider.requests) == 1  # no second step
    session.refresh_from_db()
    assert session.steps_used == 1
    assert session.state not in (SessionState.IDLE, SessionState.STOPPED)
    kinds = list(ChatEvent.objects.filter(session=session).values_list("type", flat=True))
    assert "run.stopped" not in kinds
    assert "tool.started" not in kinds  # the answer's tool call is left to the later attempt


def test_the_executor_reports_a_lost_lease_to_the_worker(user: Any) -> None:
    session, task = queued_run(user)
    first = running_on_a_worker(task)
    Task.objects.filter(pk=task.pk).update(attempts=first.attempts + 1)  # handed out again

    with pytest.raises(LeaseLost):
        execute_agent(
            ExecutionContext(
                task_id=task.pk,
                kind=AGENT_KIND,
                payload=task.payload,
                attempt=first.attempts,
                holds_lease=partial(
                    holds_lease, worker=first.lease_worker, task_id=task.pk, attempt=first.attempts
                ),
            )
        )

    session.refresh_from_db()
    assert session.steps_used == 0
