"""The repeated-answer rule: the same words from the model, message after message, whether or
not the messages called tools; a user message (or a new run) and a message that only polls
break the chain. And the nudge it writes lands after the tool results, where a model expects
it."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import ChatEvent, ChatMessage, MessageRole
from chat.services.context import answer_history, model_messages
from chat.services.guardrails import AnswerRecord, Rule
from chat.stop_reasons import StopReason
from tests.chat.conftest import Calls, make_session, run_turn
from tests.chat.scripted import Reply
from tests.chat.test_guardrails import USER, judge_answers, said

NUDGE, STOP = (Rule.REPEATED_ANSWER, "nudge"), (Rule.REPEATED_ANSWER, "stop")


def test_the_same_words_with_tool_calls_count_up() -> None:
    checking = said("Let me check", calls=True)
    assert judge_answers([checking] * 3) == [None, NUDGE, STOP]


def test_words_with_and_without_calls_are_the_same_words() -> None:
    assert judge_answers([said("Let me check", calls=True), "Let me check", "Let me check"]) == [
        None,
        NUDGE,
        STOP,
    ]


def test_whitespace_does_not_make_a_message_new() -> None:
    assert judge_answers(["Let me  check", " Let me check\n", "Let me\tcheck"]) == [
        None,
        NUDGE,
        STOP,
    ]


def test_a_user_message_breaks_the_chain() -> None:
    assert judge_answers(["Let me check", USER, "Let me check", "Let me check"]) == [
        None,
        None,
        None,
        NUDGE,
    ]


def test_a_message_that_only_polls_is_exempt_and_breaks_the_chain() -> None:
    waiting = said("Still waiting for #12", polling=True)
    assert judge_answers([waiting] * 5) == [None] * 5
    assert judge_answers(["Still waiting for #12", waiting, "Still waiting for #12"]) == [None] * 3


def test_other_words_or_none_break_the_chain() -> None:
    no_words = said("", calls=True)
    assert (
        judge_answers(["Let me check", no_words, "Let me check", "ok", "Let me check"])
        == [None] * 5
    )


def test_a_message_with_calls_and_no_words_is_not_an_empty_answer() -> None:
    assert judge_answers(["", said("", calls=True), "", ""]) == [
        None,
        None,
        None,
        (Rule.EMPTY_ANSWERS, "nudge"),
    ]


def _assistant(
    session: Any, text: str, *, calls: tuple[str, ...] = (), run: int | None = None
) -> None:
    run = session.run_number if run is None else run
    ChatMessage.objects.create(
        session=session,
        run=run,
        role=MessageRole.ASSISTANT,
        content=text,
        tool_calls=[
            {"id": f"c{n}", "type": "function", "function": {"name": name, "arguments": "{}"}}
            for n, name in enumerate(calls)
        ],
    )


@pytest.mark.django_db
def test_the_history_is_the_runs_messages_with_their_calls(user: Any, test_tools: Calls) -> None:
    session = make_session(user, run_number=2)
    _assistant(session, "Let me check", run=1)  # the last run: not read
    ChatMessage.objects.create(session=session, run=2, role=MessageRole.USER, content="go")
    _assistant(session, "Let me   check", calls=("echo",))
    _assistant(session, "Still waiting", calls=("poll", "poll"))
    _assistant(session, "Mixed", calls=("poll", "echo"))
    _assistant(session, "")

    assert answer_history(session) == [
        AnswerRecord("", user=True),
        AnswerRecord("Let me check", calls=True),
        AnswerRecord("Still waiting", calls=True, polling=True),
        AnswerRecord("Mixed", calls=True),
        AnswerRecord(""),
    ]


def guardrail_events(session: Any) -> list[tuple[str, str]]:
    tripped = ChatEvent.objects.filter(session=session, type="guardrail.tripped").order_by("seq")
    return [(t.data["rule"], t.data["action"]) for t in tripped]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
def test_a_model_that_keeps_saying_the_same_while_calling_tools_is_nudged_then_stopped(
    user: Any, test_tools: Calls
) -> None:
    """At the default threshold (3): each step calls echo with new words, so no call rule
    fires; the sentence is what repeats."""
    session = make_session(user)
    replies = [
        Reply(text="Let me look into that.", calls=[("echo", {"text": f"try {n}"})])
        for n in range(10)
    ]

    reason, provider = run_turn(session, "find it", replies)

    assert reason == StopReason.LOOP_DETECTED
    assert guardrail_events(session) == [("repeated_answer", "nudge"), ("repeated_answer", "stop")]
    assert len(provider.requests) == 3
    assert [seen["text"] for seen in test_tools.seen] == ["try 0", "try 1"], (
        "the third message's call does not run: the run stopped at it"
    )
    shown = provider.requests[2].messages
    nudge = next(n for n, m in enumerate(shown) if m["role"] == "system" and n > 0)
    assert "you have written the same message 2 times" in shown[nudge]["content"]
    assert shown[nudge - 1]["role"] == "tool", "the nudge comes after the call's result"
    assert shown[nudge - 1]["tool_call_id"] == "call_2_0"
    session.refresh_from_db()
    assert session.stop_reason == "loop_detected" and "3 times" in session.stop_detail


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
def test_a_model_that_keeps_polling_with_the_same_words_is_left_alone(
    user: Any, test_tools: Calls
) -> None:
    session = make_session(user, max_steps=20)
    waiting = Reply(text="Still waiting for the task.", calls=[("poll", {})])

    reason, _ = run_turn(session, "wait for it", [waiting] * 5 + [Reply(text="It is done.")])

    assert reason == StopReason.COMPLETED
    assert guardrail_events(session) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
def test_a_new_run_starts_the_count_again(user: Any, test_tools: Calls) -> None:
    session = make_session(user)
    first, _ = run_turn(session, "one", [Reply(text="Let me look into that.")])
    again = Reply(text="Let me look into that.", calls=[("echo", {"text": "b"})])

    second, _ = run_turn(session, "two", [again, Reply(text="Found it.")])

    assert (first, second) == (StopReason.COMPLETED, StopReason.COMPLETED)
    assert guardrail_events(session) == []


@pytest.mark.django_db
def test_a_note_written_while_calls_wait_for_results_is_shown_after_them(user: Any) -> None:
    session = make_session(user)
    run = session.run_number
    _assistant(session, "Two things", calls=("echo", "echo"))
    tool = {"session": session, "run": run, "role": MessageRole.TOOL, "name": "echo"}
    ChatMessage.objects.create(**tool, tool_call_id="c0", content="one")
    ChatMessage.objects.create(session=session, run=run, role=MessageRole.SYSTEM, content="note")
    ChatMessage.objects.create(**tool, tool_call_id="c1", content="two")

    shown = [(m["role"], m["content"]) for m in model_messages(session)[1:]]

    assert shown == [
        ("assistant", "Two things"),
        ("tool", "one"),
        ("tool", "two"),
        ("system", "note"),
    ]
