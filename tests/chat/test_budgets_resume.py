"""The proof that a budget pauses a run and does not lose it: each budget stops the run,
Run alone does not pass it, and raising it and pressing Run continues where the run stopped,
with its counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models.signals import post_save
from django.utils import timezone

from chat.errors import BudgetSpent
from chat.models import ChatEvent, ChatMessage, ExecutionState, ToolExecution
from chat.services import set_budgets
from chat.stop_reasons import StopReason
from chat.tools import Tool, ToolContext, ToolError, tools
from routing.errors import ProviderError
from tests.chat.conftest import (
    Calls,
    make_session,
    resume,
    resume_with,
    run_turn,
    stopped_event,
)
from tests.chat.scripted import Reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


class Clock:
    """Wall time as the budgets read it, moved on by hand instead of slept through."""

    def __init__(self, real: Callable[[], datetime]) -> None:
        self.real = real
        self.offset = timedelta()

    def now(self) -> datetime:
        return self.real() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock(timezone.now)
    monkeypatch.setattr(timezone, "now", moved.now)
    return moved


@contextmanager
def when_succeeded(tool: str, action: Callable[[], None]) -> Iterator[None]:
    """Do `action` as the loop records that `tool` succeeded: in the loop's own thread,
    between one call and the next, where no check on the clock can race it."""

    def receiver(sender: Any, instance: ToolExecution, **kwargs: Any) -> None:
        if instance.tool == tool and instance.state == ExecutionState.SUCCEEDED:
            action()

    post_save.connect(receiver, sender=ToolExecution, weak=False, dispatch_uid="when-succeeded")
    try:
        yield
    finally:
        post_save.disconnect(sender=ToolExecution, dispatch_uid="when-succeeded")


def texts(calls: Calls) -> list[str]:
    return [seen["text"] for seen in calls.seen]


def echo_calls(n: int) -> list[Reply]:
    return [Reply(calls=[("echo", {"text": f"call {i}"})]) for i in range(n)]


def test_the_step_budget_pauses_the_run_and_raising_it_continues(
    user: Any, test_tools: Calls
) -> None:
    session = make_session(user, max_steps=2)

    reason, _ = run_turn(session, "echo a lot", echo_calls(5))

    assert reason == StopReason.STEP_BUDGET
    session.refresh_from_db()
    assert (session.steps_used, session.state) == (2, "stopped")
    assert len(test_tools.seen) == 2, "the tool calls of the last step still ran"
    stopped = ChatEvent.objects.get(session=session, type="run.stopped")
    assert stopped.data["detail"] == "2 of 2 steps used."
    assert "Raise the step budget" in stopped.data["suggestions"][0]

    with pytest.raises(BudgetSpent) as refused:  # not raised yet: Run would stop at once
        resume(session, [Reply(text="still none")])
    assert refused.value.status_code == 409
    assert str(refused.value).startswith(
        "Run would stop again at once: step budget reached (2 of 2 steps used). "
        "Raise max_steps above 2"
    )
    assert refused.value.details == {"budget": "steps", "used": 2, "limit": 2, "raise": "max_steps"}
    session.refresh_from_db()
    assert (session.state, session.stop_reason) == ("stopped", "step_budget"), "nothing queued"

    set_budgets(session_id=session.pk, limits={"max_steps": 4})
    assert resume(session, [Reply(calls=[("echo", {"text": "three"})]), Reply(text="done")]) == (
        StopReason.COMPLETED
    )
    session.refresh_from_db()
    assert session.steps_used == 4, "the counts carried on from where the run paused"
    assert session.run_number == 1


def test_the_time_budget_pauses_the_run_and_raising_it_continues(
    user: Any, test_tools: Calls, clock: Clock
) -> None:
    session = make_session(user, max_seconds=60)
    twice = Reply(calls=[("echo", {"text": "one"}), ("echo", {"text": "two"})])

    with when_succeeded("echo", lambda: clock.advance(61)):  # the first call took a minute
        reason, _ = run_turn(session, "echo twice", [twice])

    assert reason == StopReason.TIME_BUDGET
    assert texts(test_tools) == ["one"], "the second call did not start past the limit"
    session.refresh_from_db()
    assert session.state == "stopped" and 61 <= session.seconds_used < 70
    assert stopped_event(session)["detail"].endswith("of 60 seconds used.")
    assert "Raise the time budget" in stopped_event(session)["suggestions"][0]

    with pytest.raises(BudgetSpent, match=r"time budget reached .* Raise max_seconds above 6"):
        resume(session, [])
    assert texts(test_tools) == ["one"]

    set_budgets(session_id=session.pk, limits={"max_seconds": 600})
    reason, provider = resume_with(session, [Reply(text="done")])

    assert reason == StopReason.COMPLETED
    assert texts(test_tools) == ["one", "two"], "Run began with the call that waited"
    assert len(provider.requests) == 1, "the model was asked once, after both results"
    results = [m for m in provider.requests[0].messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == ["call_1_0", "call_1_1"]
    session.refresh_from_db()
    assert (session.steps_used, session.run_number) == (2, 1)
    assert 61 <= session.seconds_used < 70, "the clock carried on from where it paused"


def test_the_cost_budget_pauses_the_run_and_raising_it_continues(
    user: Any, test_tools: Calls
) -> None:
    session = make_session(user, max_cost=Decimal("0.10"))
    pricey = [Reply(calls=[("echo", {"text": t})], cost=Decimal("0.06")) for t in ("one", "two")]

    reason, provider = run_turn(session, "spend", pricey)

    assert reason == StopReason.COST_BUDGET
    assert len(provider.requests) == 2
    assert texts(test_tools) == ["one"], "the answer that spent the budget waits for Run"
    session.refresh_from_db()
    assert (session.state, session.cost_used) == ("stopped", Decimal("0.12"))
    assert stopped_event(session)["detail"] == "$0.12 of $0.10 spent."

    with pytest.raises(BudgetSpent, match=r"Raise max_cost above 0\.12") as refused:
        resume_with(session, [])
    assert refused.value.details == {
        "budget": "cost",
        "used": "0.12",
        "limit": "0.1",
        "raise": "max_cost",
    }
    assert texts(test_tools) == ["one"], "not raised yet: nothing runs, nothing is spent"

    set_budgets(session_id=session.pk, limits={"max_cost": "1"})
    reason, provider = resume_with(session, [Reply(text="done", cost=Decimal("0.01"))])

    assert reason == StopReason.COMPLETED
    assert texts(test_tools) == ["one", "two"], "Run began with the call that waited"
    assert len(provider.requests) == 1
    session.refresh_from_db()
    assert (session.cost_used, session.steps_used, session.run_number) == (
        Decimal("0.13"),
        3,
        1,
    )


def test_a_model_retry_stop_continues_once_the_budget_is_raised(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chat.services.loop.RETRY_WAIT_SECONDS", 0.01)
    session = make_session(user, max_retries=1)
    reason, _ = run_turn(session, "x", [ProviderError("502"), ProviderError("502 again")])
    assert reason == StopReason.RETRY_BUDGET
    assert "Raise the retry budget" in stopped_event(session)["suggestions"][1]

    set_budgets(session_id=session.pk, limits={"max_retries": 3})
    reason, provider = resume_with(session, [Reply(text="back again")])

    assert reason == StopReason.COMPLETED
    assert len(provider.requests) == 1
    answer = ChatMessage.objects.filter(session=session, role="assistant").last()
    assert answer is not None and answer.content == "back again"
    session.refresh_from_db()
    assert (session.retries_used, session.steps_used, session.run_number) == (1, 3, 1)


def test_the_retry_budget_pauses_a_repeated_call_and_raising_it_continues(
    user: Any, test_tools: Calls
) -> None:
    attempts: list[int] = []

    def flaky(context: ToolContext, arguments: dict[str, Any]) -> str:
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise ToolError("busy, try again")
        return "worked at last"

    tools.register(
        Tool("flaky", "Fails twice, then works.", {"type": "object", "properties": {}}, flaky),
        replace=True,
    )
    session = make_session(user, max_retries=1)
    again = Reply(calls=[("flaky", {})])
    try:
        reason, _ = run_turn(session, "try", [again, again, again])
        assert reason == StopReason.RETRY_BUDGET
        assert len(attempts) == 2, "the second retry was refused before it ran"
        with pytest.raises(BudgetSpent, match="Raise max_retries above 1"):
            resume(session, [])  # not raised yet
        assert len(attempts) == 2

        set_budgets(session_id=session.pk, limits={"max_retries": 2})
        reason, provider = resume_with(session, [Reply(text="done")])
    finally:
        tools.unregister("flaky")

    assert reason == StopReason.COMPLETED
    assert len(attempts) == 3, "Run began with the call that waited"
    executions = ToolExecution.objects.filter(session=session).order_by("id")
    assert [(e.retry_number, e.state) for e in executions] == [
        (0, ExecutionState.FAILED),
        (1, ExecutionState.FAILED),
        (2, ExecutionState.SUCCEEDED),
    ]
    assert provider.requests[0].messages[-1]["content"] == "worked at last"
    session.refresh_from_db()
    assert (session.retries_used, session.steps_used, session.run_number) == (2, 4, 1)
    # The meter showed each retry as it happened, before the retried call ended.
    events = list(ChatEvent.objects.filter(session=session).order_by("seq"))
    for execution in executions[1:]:
        ended = next(
            e.seq
            for e in events
            if e.type in {"tool.failed", "tool.finished"} and e.data["execution_id"] == execution.pk
        )
        assert any(
            e.type == "budget.updated"
            and e.data["retries"]["used"] == execution.retry_number
            and e.seq < ended
            for e in events
        )
