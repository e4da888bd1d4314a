from __future__ import annotations

import time
from typing import Any

import pytest

from chat.models import ChatEvent, ChatMessage, ExecutionState, SessionState, ToolExecution
from chat.services import stop_run
from chat.services.loop import AgentLoop
from chat.stop_reasons import StopReason
from chat.tools import Tool, tools
from engine.executors import HandBack
from routing.errors import ProviderAuthError, ProviderError
from tests.chat.conftest import Calls, make_session, run_in_thread, run_turn
from tests.chat.scripted import Reply, ScriptedProvider

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]

STOP_WITHIN_SECONDS = 1.0  # the promise: Stop takes effect within a second


def event_types(session: Any) -> list[str]:
    return list(
        ChatEvent.objects.filter(session=session).order_by("seq").values_list("type", flat=True)
    )


def test_the_offline_provider_runs_a_whole_turn(user: Any) -> None:
    from chat.services import post_message

    session = make_session(user, mode="ops")
    post_message(session_id=session.pk, user=user, content="list tasks", queue=False)

    reason = AgentLoop(session.pk).run()

    assert reason == StopReason.COMPLETED
    execution = ToolExecution.objects.get(session=session)
    assert (execution.tool, execution.state) == ("list_tasks", ExecutionState.SUCCEEDED)
    answer = ChatMessage.objects.filter(session=session, role="assistant").last()
    assert answer is not None and "offline (rule-based)" in answer.content
    types = event_types(session)
    assert types[:2] == ["session.created", "message.user"]
    for expected in ("run.started", "message.done", "tool.started", "tool.finished", "run.stopped"):
        assert expected in types
    assert types[-2:] == ["run.stopped", "session.status"]
    seqs = list(
        ChatEvent.objects.filter(session=session).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(seqs) + 1))
    session.refresh_from_db()
    assert (session.state, session.stop_reason, session.last_seq) == ("idle", "completed", seqs[-1])


def test_tokens_stream_as_deltas_before_the_message_is_done(user: Any) -> None:
    session = make_session(user)

    reason, _ = run_turn(session, "hi", [Reply(text="one two three four five six", delay=0.03)])

    assert reason == StopReason.COMPLETED
    deltas = ChatEvent.objects.filter(session=session, type="message.delta").order_by("seq")
    assert deltas.count() >= 2, "a slow stream is sent in several batches"
    assert "".join(d.data["text"] for d in deltas).split() == [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
    ]
    done = ChatEvent.objects.get(session=session, type="message.done")
    assert done.seq > deltas.last().seq  # type: ignore[union-attr]


def test_invalid_arguments_are_fed_back_to_the_model(user: Any, test_tools: Calls) -> None:
    session = make_session(user)

    reason, provider = run_turn(
        session, "echo", [Reply(calls=[("echo", {"text": 5, "extra": 1})]), Reply(text="sorry")]
    )

    assert reason == StopReason.COMPLETED
    assert test_tools.seen == [], "the tool never ran"
    execution = ToolExecution.objects.get(session=session)
    assert execution.state == ExecutionState.FAILED
    assert "arguments.text: 5 is not of type 'string'" in execution.error
    assert "('extra' was unexpected)" in execution.error
    fed_back = provider.requests[1].messages[-1]
    assert fed_back["role"] == "tool" and "invalid arguments" in fed_back["content"]


def test_an_unknown_tool_and_bad_json_are_errors_for_the_model(user: Any) -> None:
    session = make_session(user)

    reason, provider = run_turn(
        session,
        "go",
        [Reply(calls=[("no_such_tool", {}), ("list_tasks", "{not json")]), Reply(text="ok")],
    )

    assert reason == StopReason.COMPLETED
    errors = list(ToolExecution.objects.filter(session=session).values_list("error", flat=True))
    assert "no tool 'no_such_tool' in this mode" in errors[0]
    assert errors[1] == "arguments are not valid JSON"
    assert [m["role"] for m in provider.requests[1].messages[-2:]] == ["tool", "tool"]


def test_secrets_in_tool_output_are_redacted_everywhere(user: Any, test_tools: Calls) -> None:
    session = make_session(user)

    run_turn(
        session,
        "echo",
        [Reply(calls=[("echo", {"text": "Authorization: Token jgt_0123456789abcdef"})])],
    )

    execution = ToolExecution.objects.get(session=session)
    assert "sk-live" not in execution.output and "[redacted]" in execution.output
    assert "jgt_0123456789abcdef" not in str(execution.arguments)
    for event in ChatEvent.objects.filter(session=session):
        assert "sk-live-abcdefghijklmnop" not in str(event.data)
        assert "jgt_0123456789abcdef" not in str(event.data)
    tool_message = ChatMessage.objects.get(session=session, role="tool")
    assert "sk-live" not in tool_message.content


def test_stop_interrupts_a_slow_tool(user: Any, test_tools: Calls) -> None:
    from chat.services import post_message

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
    session = make_session(user)
    post_message(session_id=session.pk, user=user, content="wait", queue=False)
    thread, result = run_in_thread(
        session, ScriptedProvider([Reply(calls=[("glacial", {"seconds": 60})])])
    )
    assert test_tools.started.wait(10)

    stopped_at = time.monotonic()
    stop_run(session_id=session.pk, user=user)
    thread.join(timeout=10)
    took = time.monotonic() - stopped_at
    tools.unregister("glacial")

    assert not thread.is_alive()
    assert took < STOP_WITHIN_SECONDS, f"the run ended {took:.2f} s after Stop, not the tool's 60 s"
    assert result["reason"] == StopReason.USER_STOPPED
    assert test_tools.cancelled.wait(2), "the tool was told to give up"
    execution = ToolExecution.objects.get(session=session)
    assert execution.state == ExecutionState.CANCELLED
    session.refresh_from_db()
    assert (session.state, session.stop_reason, session.stop_requested) == (
        "stopped",
        "user_stopped",
        False,
    )


def test_stop_interrupts_a_streamed_answer(user: Any) -> None:
    from chat.services import post_message

    session = make_session(user)
    post_message(session_id=session.pk, user=user, content="talk", queue=False)
    words = " ".join(f"w{n}" for n in range(400))
    thread, result = run_in_thread(session, ScriptedProvider([Reply(text=words, delay=0.05)]))
    deadline = time.monotonic() + 10
    while not ChatEvent.objects.filter(session=session, type="message.delta").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)

    stopped_at = time.monotonic()
    stop_run(session_id=session.pk, user=user)
    thread.join(timeout=10)
    took = time.monotonic() - stopped_at

    assert not thread.is_alive() and result["reason"] == StopReason.USER_STOPPED
    assert took < STOP_WITHIN_SECONDS, f"the run ended {took:.2f} s after Stop"
    assert not ChatMessage.objects.filter(session=session, role="assistant").exists()
    streamed = "".join(
        e.data["text"] for e in ChatEvent.objects.filter(session=session, type="message.delta")
    )
    assert 0 < len(streamed.split()) < 400


def test_a_tool_past_its_timeout_fails_and_the_model_hears_it(user: Any, test_tools: Calls) -> None:
    tools.register(
        Tool(
            "sleepy",
            "Slow.",
            {"type": "object", "properties": {}},
            tools.get("slow").function,  # type: ignore[union-attr]
            timeout_seconds=0.2,
        ),
        replace=True,
    )
    session = make_session(user)

    reason, provider = run_turn(
        session, "wait", [Reply(calls=[("sleepy", {})]), Reply(text="gave up")]
    )
    tools.unregister("sleepy")

    assert reason == StopReason.COMPLETED
    execution = ToolExecution.objects.get(session=session)
    assert execution.state == ExecutionState.TIMED_OUT
    assert "timed out after 0.2 s" in provider.requests[1].messages[-1]["content"]


def test_a_fatal_tool_error_stops_the_run(user: Any, test_tools: Calls) -> None:
    session = make_session(user)

    reason, _ = run_turn(session, "x", [Reply(calls=[("fatal", {})])])

    assert reason == StopReason.TOOL_ERROR
    session.refresh_from_db()
    assert session.state == SessionState.ERROR
    stopped = ChatEvent.objects.get(session=session, type="run.stopped")
    assert stopped.data["reason"] == "tool_error" and stopped.data["suggestions"]


def test_a_provider_that_refuses_the_key_makes_the_model_unavailable(user: Any) -> None:
    session = make_session(user)

    reason, _ = run_turn(session, "x", [ProviderAuthError("401 from upstream")])

    assert reason == StopReason.MODEL_UNAVAILABLE
    assert ChatEvent.objects.filter(session=session, type="error").exists()


def test_a_transient_provider_failure_is_retried(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chat.services.loop.RETRY_WAIT_SECONDS", 0.01)
    session = make_session(user)

    reason, _ = run_turn(session, "x", [ProviderError("upstream 502"), Reply(text="fine")])

    assert reason == StopReason.COMPLETED
    session.refresh_from_db()
    assert session.retries_used == 1


def test_an_unexpected_exception_ends_the_run_as_an_internal_error(user: Any) -> None:
    session = make_session(user)

    reason, _ = run_turn(session, "x", [RuntimeError("boom")])

    assert reason == StopReason.INTERNAL_ERROR
    session.refresh_from_db()
    assert session.state == SessionState.ERROR and "RuntimeError: boom" in session.stop_detail


def test_a_stopping_worker_hands_the_run_back(user: Any) -> None:
    from chat.services import post_message

    session = make_session(user)
    post_message(session_id=session.pk, user=user, content="x", queue=False)

    with pytest.raises(HandBack):
        AgentLoop(session.pk, provider=ScriptedProvider([]), should_hand_back=lambda: True).run()

    session.refresh_from_db()
    assert session.state == SessionState.QUEUED and session.segment_started_at is None
