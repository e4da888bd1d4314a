"""The progress rule: a monologue (new words and a new call every step, nothing learnt and
nothing changed) is nudged, then stopped with its own reason, long before the step budget."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import ChatEvent, ChatMessage
from chat.services.guardrails import GuardrailsTracker, Rule, StepRecord, Thresholds
from chat.stop_reasons import EXPLANATIONS, StopReason
from chat.tools import Tool, ToolContext, tools
from tests.chat.conftest import Calls, make_session, run_turn
from tests.chat.scripted import Reply

THRESHOLDS = Thresholds(
    repeated_calls=4,
    repeated_failures=3,
    alternations=3,
    repeated_answers=3,
    empty_answers=3,
    idle_steps=4,
)
NUDGE, STOP = (Rule.NO_PROGRESS, "nudge"), (Rule.NO_PROGRESS, "stop")


def step(*tools: str, fresh: bool = False, outcome: bool = False, polling: bool = False) -> Any:
    return StepRecord(tuple(sorted(tools)), outcome=outcome, fresh=fresh, polling=polling)


def judge(steps: list[StepRecord]) -> list[tuple[str, str] | None]:
    tracker = GuardrailsTracker(THRESHOLDS)
    verdicts = []
    for n in range(1, len(steps) + 1):
        verdict = tracker.after_step(steps[:n])
        verdicts.append((verdict.rule, verdict.action) if verdict else None)
    return verdicts


def test_steps_that_learn_nothing_are_nudged_then_stopped() -> None:
    stale = step("search")
    assert judge([stale] * 4) == [None, None, NUDGE, STOP]


def test_the_same_tool_with_new_arguments_every_step_is_no_progress_either() -> None:
    # New results every time, but the same call again and again: a monologue.
    assert judge([step("list_tasks", fresh=True)] * 5) == [None, None, None, NUDGE, STOP]


def test_new_information_from_other_tools_is_progress() -> None:
    steps = [step("a", fresh=True), step("b", fresh=True), step("c", fresh=True)] * 3
    assert judge(steps) == [None] * 9


def test_a_change_breaks_the_chain() -> None:
    stale = step("search")
    steps = [stale, stale, step("create_task", outcome=True), stale, stale, stale]
    assert judge(steps) == [None, None, None, None, None, NUDGE]


def test_polling_steps_are_left_out() -> None:
    stale, poll = step("search"), step("inspect_task", polling=True)
    assert judge([stale, poll, stale, poll, poll, stale]) == [None, None, None, None, None, NUDGE]


def test_the_threshold_is_a_setting(settings: Any) -> None:
    settings.CHAT_LOOP_IDLE_STEPS = 9
    assert Thresholds.from_settings().idle_steps == 9


def test_no_progress_is_a_stop_reason_with_a_sentence_and_suggestions() -> None:
    explanation = EXPLANATIONS[StopReason.NO_PROGRESS]
    assert "without getting anywhere" in explanation.sentence
    assert explanation.resumable and len(explanation.suggestions) == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
def test_a_monologue_stops_with_no_progress_before_the_step_budget(
    user: Any, test_tools: Calls
) -> None:
    session = make_session(user, max_steps=20)
    monologue = [
        Reply(text=f"Thought {n}: let me try another angle.", calls=[("echo", {"text": f"#{n}"})])
        for n in range(20)
    ]

    reason, provider = run_turn(session, "find the root cause", monologue)

    assert reason == StopReason.NO_PROGRESS
    assert len(provider.requests) == 7, "stopped after 6 idle steps, not at the step budget"
    nudge = ChatMessage.objects.get(session=session, role="system")
    assert "without progress (no new result, nothing changed) for 5 steps in a row" in (
        nudge.content
    )
    tripped = ChatEvent.objects.filter(session=session, type="guardrail.tripped")
    assert [(e.data["rule"], e.data["action"]) for e in tripped] == [
        ("no_progress", "nudge"),
        ("no_progress", "stop"),
    ]
    stopped = ChatEvent.objects.get(session=session, type="run.stopped").data
    assert (stopped["reason"], stopped["label"]) == ("no_progress", "No progress")
    assert stopped["detail"].endswith("for 6 steps in a row; the threshold is 6.")
    assert stopped["suggestions"] == list(EXPLANATIONS[StopReason.NO_PROGRESS].suggestions)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
def test_failing_calls_with_ever_new_arguments_are_no_progress(
    user: Any, test_tools: Calls
) -> None:
    session = make_session(user, max_steps=20)
    tools_in_turn = ["broken", "echo"]
    replies = [
        Reply(text=f"Maybe {n}?", calls=[(tools_in_turn[n % 2], {"text": f"guess {n}"})])
        for n in range(20)
    ]
    # echo answers the same whatever it is asked: nothing new after the first.
    tools.register(
        Tool("echo", "Echo.", {"type": "object", "properties": {"text": {"type": "string"}}}, same),
        replace=True,
    )

    reason, provider = run_turn(session, "guess", replies)

    assert reason == StopReason.NO_PROGRESS
    assert len(provider.requests) < 10


def same(context: ToolContext, arguments: dict[str, Any]) -> str:
    return "nothing here"
