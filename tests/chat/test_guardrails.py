"""Every loop pattern: nudged once, one repetition before the threshold; stopped at it."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import ChatEvent, ChatMessage
from chat.services.guardrails import (
    AnswerRecord,
    CallRecord,
    GuardrailsTracker,
    Rule,
    Thresholds,
    normalise,
)
from chat.stop_reasons import StopReason
from tests.chat.conftest import Calls, make_session, run_turn
from tests.chat.scripted import Reply

THRESHOLDS = Thresholds(
    repeated_calls=4, repeated_failures=3, alternations=3, repeated_answers=3, empty_answers=3
)


def call(
    tool: str = "a",
    args: str = "x",
    output: str = "o",
    *,
    failed: bool = False,
    polling: bool = False,
) -> CallRecord:
    return CallRecord(tool, args, output, failed, polling)


def judge_calls(records: list[CallRecord]) -> list[tuple[str, str] | None]:
    """The verdict after each call, as a tracker following the run would give them."""
    tracker = GuardrailsTracker(THRESHOLDS)
    verdicts = []
    for n in range(1, len(records) + 1):
        verdict = tracker.after_call(records[:n])
        verdicts.append((verdict.rule, verdict.action) if verdict else None)
    return verdicts


def said(text: str, *, calls: bool = False, polling: bool = False) -> AnswerRecord:
    """An assistant message as the answer rules read it."""
    return AnswerRecord(normalise(text), calls=calls or polling, polling=polling)


USER = AnswerRecord("", user=True)


def judge_answers(answers: list[str | AnswerRecord]) -> list[tuple[str, str] | None]:
    records = [said(a) if isinstance(a, str) else a for a in answers]
    tracker = GuardrailsTracker(THRESHOLDS)
    verdicts = []
    for n in range(1, len(records) + 1):
        verdict = tracker.after_answer(records[:n])
        verdicts.append((verdict.rule, verdict.action) if verdict else None)
    return verdicts


def test_the_same_call_with_the_same_result_is_nudged_at_three_and_stopped_at_four() -> None:
    assert judge_calls([call()] * 4) == [
        None,
        None,
        (Rule.REPEATED_CALL, "nudge"),
        (Rule.REPEATED_CALL, "stop"),
    ]


def test_a_different_result_is_progress_not_a_loop() -> None:
    records = [call(output="1"), call(output="2"), call(output="3"), call(output="4")]
    assert judge_calls(records) == [None] * 4


def test_a_polling_tool_may_repeat_itself() -> None:
    assert judge_calls([call(polling=True)] * 6) == [None] * 6


def test_the_same_failing_call_is_nudged_at_two_and_stopped_at_three() -> None:
    assert judge_calls([call(failed=True)] * 3) == [
        None,
        (Rule.REPEATED_FAILURE, "nudge"),
        (Rule.REPEATED_FAILURE, "stop"),
    ]


def test_two_calls_alternating_are_stopped_at_three_rounds() -> None:
    a, b = call("a", output="1"), call("b", output="2")
    assert judge_calls([a, b, a, b, a, b]) == [
        None,
        None,
        None,
        (Rule.ALTERNATING_CALLS, "nudge"),
        None,
        (Rule.ALTERNATING_CALLS, "stop"),
    ]


def test_three_different_calls_in_turn_are_not_an_alternation() -> None:
    a, b, c = call("a"), call("b"), call("c")
    assert judge_calls([a, b, c, a, b, c]) == [None] * 6


def test_the_same_message_three_times_in_a_row_stops() -> None:
    assert judge_answers(["checking", "checking", "checking"]) == [
        None,
        (Rule.REPEATED_ANSWER, "nudge"),
        (Rule.REPEATED_ANSWER, "stop"),
    ]


def test_a_message_between_breaks_the_repetition() -> None:
    assert judge_answers(["checking", "other", "checking", "other"]) == [None] * 4


def test_empty_answers_in_a_row_stop() -> None:
    assert judge_answers(["", "", ""]) == [
        None,
        (Rule.EMPTY_ANSWERS, "nudge"),
        (Rule.EMPTY_ANSWERS, "stop"),
    ]


def test_a_rule_nudges_only_once_per_run() -> None:
    tracker = GuardrailsTracker(THRESHOLDS, nudged=[Rule.REPEATED_CALL])
    assert tracker.after_call([call()] * 3) is None
    verdict = tracker.after_call([call()] * 4)
    assert verdict is not None and verdict.stop


def test_thresholds_come_from_settings(settings: Any) -> None:
    settings.CHAT_LOOP_REPEAT_CALLS = 6
    assert Thresholds.from_settings().repeated_calls == 6


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
def test_the_loop_nudges_the_model_then_stops_a_repeated_call(user: Any, test_tools: Calls) -> None:
    session = make_session(user)
    same = Reply(calls=[("echo", {"text": "again"})])

    reason, provider = run_turn(session, "echo", [same] * 6)

    assert reason == StopReason.LOOP_DETECTED
    assert len(test_tools.seen) == 4
    nudge = ChatMessage.objects.get(session=session, role="system")
    assert (
        "you have called echo with the same arguments and the same result 3 times" in nudge.content
    )
    assert any(
        m["role"] == "system" and "Guardrail" in m["content"] for m in provider.requests[3].messages
    )
    tripped = list(
        ChatEvent.objects.filter(session=session, type="guardrail.tripped").values_list(
            "data", flat=True
        )
    )
    assert [(t["rule"], t["action"]) for t in tripped] == [
        ("repeated_call", "nudge"),
        ("repeated_call", "stop"),
    ]
    session.refresh_from_db()
    assert session.stop_reason == "loop_detected" and "4 times" in session.stop_detail


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
def test_the_loop_stops_after_empty_answers(user: Any) -> None:
    session = make_session(user)

    reason, provider = run_turn(session, "say something", [Reply(text="")] * 5)

    assert reason == StopReason.LOOP_DETECTED
    assert len(provider.requests) == 3
