"""A run is one worker's at a time: a task that is not the session's current run task leaves
the session alone, and the run task's engine timeout follows a raised time budget, so the
stuck detector never hands a live run to a second worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chat.executor import execute_agent
from chat.models import ACTIVE_STATES, ChatEvent, ChatSession, SessionState
from chat.services import post_message, set_budgets
from chat.services.budgets import BudgetLimits
from chat.services.loop import AgentLoop
from chat.services.runs import AGENT_KIND, RUN_TIMEOUT_MARGIN_SECONDS
from chat.stop_reasons import StopReason
from chat.tools import Tool, ToolContext, tools
from engine.executors import ExecutionContext, LeaseLost
from engine.models import Task, TaskState, Worker
from engine.services import (
    StuckTaskDetector,
    TaskRouter,
    cancel_task,
    create_task,
)
from engine.services.history import system_actor
from engine.worker import context_for_claim
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
    assert first.lease_worker is not None
    context = context_for_claim(first.lease_worker, first)
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
        assert first.lease_worker is not None
        execute_agent(context_for_claim(first.lease_worker, first))

    session.refresh_from_db()
    assert session.steps_used == 0


def hand_to_a_second_worker(task_id: int) -> Task:
    """The first worker's heartbeats stopped: its lease runs out, the stuck detector ends the
    attempt, and another worker claims the task (its backoff skipped)."""
    task = Task.objects.get(pk=task_id)
    assert task.lease_expires_at is not None
    StuckTaskDetector(now=task.lease_expires_at + timedelta(seconds=1)).run()
    Task.objects.filter(pk=task_id).update(run_after=timezone.now() - timedelta(seconds=1))
    again = TaskRouter().claim(WorkerFactory(capabilities=[AGENT_KIND]))
    assert again is not None and again.pk == task_id
    return again


def loop_for(session: ChatSession, first: Task, provider: ScriptedProvider) -> AgentLoop:
    assert first.lease_worker is not None
    return AgentLoop(
        session.pk,
        task_id=first.pk,
        provider=provider,
        holds_lease=context_for_claim(first.lease_worker, first).holds_lease,
    )


def event_types(session: ChatSession, after: int = 0) -> list[str]:
    return list(
        ChatEvent.objects.filter(session=session, seq__gt=after)
        .order_by("seq")
        .values_list("type", flat=True)
    )


def test_a_final_answer_after_the_lease_was_lost_does_not_finish_the_session(
    user: Any,
) -> None:
    """The step under way ends the run (a plain answer): the loop returns COMPLETED and calls
    finish_run without asking whether it still holds the task, so the session the second
    worker is running is set idle and `run.stopped` is published under it."""
    session, task = queued_run(user)
    first = running_on_a_worker(task)
    second: list[Task] = []

    def answer_after_losing_the_lease(request: Any) -> Reply:
        second.append(hand_to_a_second_worker(task.pk))
        return Reply(text="All done.")

    loop = loop_for(session, first, ScriptedProvider([answer_after_losing_the_lease]))
    loop.run()

    assert second and second[0].lease_worker_id != first.lease_worker_id
    session.refresh_from_db()
    # The later attempt owns the run now: the stale loop must leave it as it found it.
    assert session.state in (*ACTIVE_STATES,), session.state
    assert "run.stopped" not in event_types(session)


def test_the_rest_of_an_answers_tool_calls_do_not_run_after_the_lease_was_lost(
    user: Any,
) -> None:
    """An answer with two tool calls: during the first, the task changes hands. The loop
    asks about its lease only at the top of its while loop, not between the calls of one
    answer, so the second call runs here, and again in the later attempt (it is still
    pending there when it starts)."""
    session, task = queued_run(user)
    first = running_on_a_worker(task)
    ran: list[str] = []

    def hand_over(context: ToolContext, arguments: dict[str, Any]) -> Any:
        hand_to_a_second_worker(task.pk)
        ran.append("hand_over")
        return "ok"

    def count(context: ToolContext, arguments: dict[str, Any]) -> Any:
        ran.append("count")
        return "counted"

    empty = {"type": "object", "properties": {}}
    registered = [
        Tool("hand_over_now", "Hands the task over.", empty, hand_over),
        Tool("count_calls", "Counts.", empty, count),
    ]
    for tool in registered:
        tools.register(tool, replace=True)
    try:
        provider = ScriptedProvider(
            [Reply(text="two calls", calls=[("hand_over_now", {}), ("count_calls", {})])]
        )
        loop_for(session, first, provider).run()
    finally:
        for tool in registered:
            tools.unregister(tool.name)

    assert ran[0] == "hand_over"
    assert ran == ["hand_over"], "the second call ran after the attempt had lost the task"


def test_a_run_task_cancelled_while_running_ends_its_run(
    user: Any,
) -> None:
    """An operator cancels the running run task (the engine's page or API; cancel_task
    withdraws the lease). No later attempt will ever run the session: the loop ends the run
    itself, rather than leave it busy with nobody on it."""
    session, task = queued_run(user)
    first = running_on_a_worker(task)

    def answer_and_get_cancelled(request: Any) -> Reply:
        cancel_task(task_id=task.pk, actor=system_actor("operator"), note="cancelled by hand")
        return Reply(text="checking", calls=[("list_workers", {})])

    loop = loop_for(session, first, ScriptedProvider([answer_and_get_cancelled]))
    loop.run()

    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED
    assert loop.lease_lost is False
    session.refresh_from_db()
    assert session.state not in ACTIVE_STATES, session.state
    assert session.stop_reason == StopReason.USER_STOPPED
    assert f"task #{task.pk} was cancelled" in session.stop_detail
    assert "run.stopped" in event_types(session)


def test_a_loop_whose_attempt_was_already_lost_publishes_nothing(user: Any) -> None:
    """The attempt lost the task before its loop began (the worker stalled between claim
    and loop, or a stale attempt starts while the later one runs). `_begin` runs before the
    first lease check: it saves the state and publishes run.started and session.status."""
    session, task = queued_run(user)
    first = running_on_a_worker(task)
    hand_to_a_second_worker(task.pk)
    session.refresh_from_db()
    state, before = session.state, session.last_seq

    loop = loop_for(session, first, ScriptedProvider([]))
    loop.run()

    assert loop.lease_lost is True
    session.refresh_from_db()
    assert event_types(session, after=before) == []
    assert session.state == state


def test_a_step_that_crashes_after_the_lease_was_lost_publishes_no_error(user: Any) -> None:
    """The model call under way fails in our code once the task has changed hands: the
    error is the end of a run that is not this attempt's any more. The loop leaves without
    publishing it (the later attempt's stream would show an internal error of a live run)."""
    session, task = queued_run(user)
    first = running_on_a_worker(task)
    before = session.last_seq

    def crash_after_losing_the_lease(request: Any) -> Reply:
        hand_to_a_second_worker(task.pk)
        raise RuntimeError("the provider's code broke")

    loop = loop_for(session, first, ScriptedProvider([crash_after_losing_the_lease]))
    loop.run()

    assert loop.lease_lost is True
    published = event_types(session, after=before)
    assert "error" not in published, published
    assert "run.stopped" not in published
