"""Every budget stops a run before it passes: before every step and within one, on the clock.

That a stopped run continues once its budget is raised: test_budgets_resume.py."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from chat.models import ChatEvent, ExecutionState, ToolExecution
from chat.services import post_message, set_budgets
from chat.services.budgets import BudgetLimits, BudgetTracker
from chat.stop_reasons import StopReason
from chat.tools import Tool, tools
from routing.errors import ProviderError
from routing.models import Policy
from tests.chat.conftest import (
    Calls,
    make_session,
    resume,
    run_in_thread,
    run_turn,
    stopped_event,
)
from tests.chat.scripted import Reply, ScriptedProvider
from tests.routing.factories import spend

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


def test_limits_come_from_the_policy_unless_the_session_overrides(user: Any) -> None:
    session = make_session(user, mode="ops")

    assert BudgetLimits.for_session(session) == BudgetLimits(5, 120, 2, Decimal("0.10"))
    policy = Policy.objects.get(mode="ops")
    policy.max_seconds, policy.max_retries = 77, 4
    policy.save()
    assert BudgetLimits.for_session(session) == BudgetLimits(5, 77, 4, Decimal("0.10")), (
        "an edited policy counts"
    )

    set_budgets(
        session_id=session.pk,
        limits={"max_steps": 9, "max_seconds": 30, "max_retries": 0, "max_cost": "0.5"},
    )
    session.refresh_from_db()
    assert BudgetLimits.for_session(session) == BudgetLimits(9, 30, 0, Decimal("0.5"))
    update = ChatEvent.objects.filter(session=session, type="budget.updated").last()
    assert update is not None and update.data["steps"] == {"used": 0, "limit": 9}
    assert update.data["seconds"]["limit"] == 30 and update.data["retries"]["limit"] == 0


def test_the_time_budget_stops_a_run_inside_a_slow_tool(user: Any, test_tools: Calls) -> None:
    tools.register(
        Tool(
            "glacial",
            "Very slow.",
            {"type": "object", "properties": {}},
            tools.get("slow").function,  # type: ignore[union-attr]
            timeout_seconds=120,
        ),
        replace=True,
    )
    session = make_session(user, max_seconds=1)
    try:
        reason, _ = run_turn(session, "wait", [Reply(calls=[("glacial", {"seconds": 60})])])
    finally:
        tools.unregister("glacial")

    assert reason == StopReason.TIME_BUDGET
    assert test_tools.cancelled.wait(2)
    session.refresh_from_db()
    assert 1 <= session.seconds_used < 5
    assert ToolExecution.objects.get(session=session).state == ExecutionState.CANCELLED

    set_budgets(session_id=session.pk, limits={"max_seconds": 600})
    assert resume(session, [Reply(text="ok, moving on")]) == StopReason.COMPLETED


def test_the_cost_budget_stops_before_the_next_call(user: Any) -> None:
    session = make_session(user, max_cost=Decimal("0.10"))
    pricey = [Reply(calls=[("list_tasks", {"limit": n})], cost=Decimal("0.06")) for n in (1, 2, 3)]

    reason, provider = run_turn(session, "spend", pricey)

    assert reason == StopReason.COST_BUDGET
    assert len(provider.requests) == 2, "the third call was never made"
    session.refresh_from_db()
    assert session.cost_used == Decimal("0.12")
    budget = ChatEvent.objects.filter(session=session, type="budget.updated").last()
    assert budget is not None and budget.data["cost"] == {
        "used": "0.12",
        "limit": "0.1",
    }


def test_money_routing_charges_within_a_step_stops_the_run_on_the_clock(
    user: Any, test_tools: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chat.services.loop.BUDGET_EVENT_SECONDS", 0.1)
    session = make_session(user, max_cost=Decimal("0.10"))
    post_message(session_id=session.pk, user=user, content="wait", queue=False)
    thread, result = run_in_thread(
        session, ScriptedProvider([Reply(calls=[("slow", {"seconds": 2.5})])])
    )
    assert test_tools.started.wait(10)

    # Charged while the tool runs, as routing charges a stream the loop walked away from.
    spend(mode="ops", cost="0.25", session_ref=session.ref)
    charged_at = time.monotonic()
    thread.join(timeout=10)

    assert result["reason"] == StopReason.COST_BUDGET
    assert time.monotonic() - charged_at < 2, "the tool's 2.5 s were not waited out"
    assert test_tools.cancelled.wait(2)
    assert ToolExecution.objects.get(session=session).state == ExecutionState.CANCELLED
    session.refresh_from_db()
    assert session.cost_used == Decimal("0.25")
    budget = ChatEvent.objects.filter(session=session, type="budget.updated").last()
    assert budget is not None and budget.data["cost"]["used"] == "0.25"


def test_a_budget_lowered_within_a_step_counts_at_once(user: Any, test_tools: Calls) -> None:
    session = make_session(user, cost_used=Decimal("0.05"))
    post_message(session_id=session.pk, user=user, content="wait", queue=False)
    thread, result = run_in_thread(
        session, ScriptedProvider([Reply(calls=[("slow", {"seconds": 2.5})])])
    )
    assert test_tools.started.wait(10)

    set_budgets(session_id=session.pk, limits={"max_cost": "0.01"})
    lowered_at = time.monotonic()
    thread.join(timeout=10)

    assert result["reason"] == StopReason.COST_BUDGET
    assert time.monotonic() - lowered_at < 2
    assert stopped_event(session)["detail"] == "$0.05 of $0.01 spent."


def test_routing_refusing_a_call_for_its_ceiling_is_a_cost_stop(user: Any) -> None:
    from routing.errors import BudgetExceeded

    session = make_session(user)
    refusal = BudgetExceeded(
        ceiling_name="session chat:1",
        ceiling=Decimal("0.1"),
        spent=Decimal("0.09"),
        estimate=Decimal("0.02"),
    )

    reason, _ = run_turn(session, "spend", [refusal])

    assert reason == StopReason.COST_BUDGET
    session.refresh_from_db()
    assert "Refused before sending" in session.stop_detail


def test_the_retry_budget_counts_model_retries(user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chat.services.loop.RETRY_WAIT_SECONDS", 0.01)
    session = make_session(user, max_retries=1)

    reason, _ = run_turn(session, "x", [ProviderError("502"), ProviderError("502 again")])

    assert reason == StopReason.RETRY_BUDGET
    session.refresh_from_db()
    assert session.retries_used == 1


def test_repeating_a_failed_tool_call_uses_the_retry_budget(user: Any, test_tools: Calls) -> None:
    session = make_session(user, max_retries=1)
    same = Reply(calls=[("broken", {"text": "again"})])

    reason, _ = run_turn(session, "x", [same, same, same])

    assert reason == StopReason.RETRY_BUDGET
    numbers = list(
        ToolExecution.objects.filter(session=session).values_list("retry_number", flat=True)
    )
    assert numbers == [0, 1], "the third attempt was refused before it ran"


def test_the_meters_tick_on_a_clock_while_a_tool_runs(
    user: Any, test_tools: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chat.services.loop.BUDGET_EVENT_SECONDS", 0.2)
    session = make_session(user)

    reason, _ = run_turn(
        session, "wait", [Reply(calls=[("slow", {"seconds": 0.7})]), Reply(text="ok")]
    )

    assert reason == StopReason.COMPLETED
    running = ChatEvent.objects.filter(session=session, type="budget.updated").values_list(
        "data", flat=True
    )
    seconds = [data["seconds"]["used"] for data in running]
    assert len([s for s in seconds if s > 0]) >= 2, "the clock is reported while the tool runs"
    assert seconds == sorted(seconds)


def test_tracker_reports_each_budget_it_finds_exceeded(user: Any) -> None:
    session = make_session(user, max_steps=3, max_seconds=10, max_retries=1, max_cost=Decimal("1"))
    tracker = BudgetTracker(session)
    assert tracker.exceeded() is None

    session.steps_used = 3
    assert tracker.exceeded() == StopReason.STEP_BUDGET
    session.steps_used, session.seconds_used = 0, 10.0
    assert tracker.exceeded() == StopReason.TIME_BUDGET
    session.seconds_used, session.cost_used = 0.0, Decimal("1")
    assert tracker.exceeded() == StopReason.COST_BUDGET
    session.cost_used, session.retries_used = Decimal("0"), 2
    assert tracker.exceeded() == StopReason.RETRY_BUDGET
    assert tracker.describe(StopReason.RETRY_BUDGET) == "2 of 1 retries used."


def test_a_new_message_answers_the_calls_a_paused_run_left(user: Any, test_tools: Calls) -> None:
    session = make_session(user, max_retries=0)
    same = Reply(calls=[("broken", {"text": "again"})])
    assert run_turn(session, "x", [same, same])[0] == StopReason.RETRY_BUDGET

    reason, provider = run_turn(session, "never mind, answer", [Reply(text="ok")])

    assert reason == StopReason.COMPLETED
    sent = provider.requests[0].messages
    called = {c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or []}
    answered = {m["tool_call_id"] for m in sent if m["role"] == "tool"}
    assert called == answered, "every call the model made has a result"
    assert "not run" in sent[-2]["content"]
