from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps

from chat.models import ChatEvent, ChatSession
from chat.services import continue_run, create_session, post_message
from chat.services.loop import AgentLoop
from chat.stop_reasons import StopReason
from chat.tools import Tool, ToolContext, ToolError, ToolFatalError, tools
from tests.chat.scripted import Reply, ScriptedProvider

_seed = importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed
_run_limits = importlib.import_module(
    "routing.migrations.0003_policy_run_time_and_retries"
).set_run_limits


@pytest.fixture
def routing_defaults(db: Any) -> None:
    """The policies the data migration seeds; a transactional test may have flushed them."""
    _seed(apps, None)
    _run_limits(apps, None)


@pytest.fixture
def other(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user(username="mallory", password="pw-mallory-123")


def make_session(owner: Any, *, mode: str = "ops", **fields: Any) -> ChatSession:
    session = create_session(owner=owner, mode=mode)
    if fields:
        ChatSession.objects.filter(pk=session.pk).update(**fields)
        session.refresh_from_db()
    return session


def run_turn(
    session: ChatSession, message: str, replies: list[Any], **kwargs: Any
) -> tuple[StopReason, ScriptedProvider]:
    """Send a message and run the loop in this thread, the model played by a script."""
    post_message(session_id=session.pk, user=session.owner, content=message, queue=False)
    provider = ScriptedProvider(replies, **kwargs)
    return AgentLoop(session.pk, provider=provider).run(), provider


def resume_with(session: ChatSession, replies: list[Any]) -> tuple[StopReason, ScriptedProvider]:
    """Press Run, then let the loop run as the queued task's worker would."""
    continue_run(session_id=session.pk, user=session.owner, queue=False)
    provider = ScriptedProvider(replies)
    return AgentLoop(session.pk, provider=provider).run(), provider


def resume(session: ChatSession, replies: list[Any]) -> StopReason:
    return resume_with(session, replies)[0]


def stopped_event(session: ChatSession) -> dict[str, Any]:
    event = ChatEvent.objects.filter(session=session, type="run.stopped").last()
    assert event is not None
    return event.data


def run_in_thread(
    session: ChatSession, provider: ScriptedProvider
) -> tuple[threading.Thread, dict[str, Any]]:
    """Run the loop as a worker would, so the test can act while it runs (Stop, a budget)."""
    result: dict[str, Any] = {}

    def target() -> None:
        result["reason"] = AgentLoop(session.pk, provider=provider).run()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, result


class Calls:
    """What the test tools saw."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.started = threading.Event()
        self.cancelled = threading.Event()


@pytest.fixture
def test_tools() -> Iterator[Calls]:
    """Tools the scripts call: an echo, a failing one, a fatal one, a slow one, a poller."""
    calls = Calls()

    def echo(context: ToolContext, arguments: dict[str, Any]) -> Any:
        calls.seen.append(arguments)
        return {"echo": arguments.get("text", ""), "api_key": "sk-live-abcdefghijklmnop"}

    def broken(context: ToolContext, arguments: dict[str, Any]) -> Any:
        calls.seen.append(arguments)
        raise ToolError("the backend said no")

    def fatal(context: ToolContext, arguments: dict[str, Any]) -> Any:
        raise ToolFatalError("the disk is gone")

    def slow(context: ToolContext, arguments: dict[str, Any]) -> Any:
        calls.started.set()
        deadline = time.monotonic() + float(arguments.get("seconds", 5))
        while time.monotonic() < deadline:
            if context.cancelled.wait(0.02):
                calls.cancelled.set()
                return "cancelled"
        return "slept"

    def poll(context: ToolContext, arguments: dict[str, Any]) -> Any:
        return {"state": "running"}

    text = {
        "type": "object",
        "properties": {"text": {"type": "string", "maxLength": 50}},
        "additionalProperties": False,
    }
    registered = [
        Tool("echo", "Echo the text back.", {**text, "required": ["text"]}, echo),
        Tool("broken", "Always fails.", text, broken),
        Tool("fatal", "Fails for good.", text, fatal),
        Tool(
            "slow",
            "Takes its time.",
            {"type": "object", "properties": {"seconds": {"type": "number"}}},
            slow,
            timeout_seconds=3,
        ),
        Tool("poll", "Is it done yet?", {"type": "object", "properties": {}}, poll, polling=True),
        Tool("zap", "Dangerous on purpose.", text, echo, permission="dangerous"),
        Tool(
            "zap_for_staff",
            "Dangerous, and only for staff owners.",
            text,
            echo,
            permission="dangerous",
            refusal=lambda context: "only staff may zap" if context.owner_id is not None else None,
        ),
    ]
    for tool in registered:
        tools.register(tool, replace=True)
    yield calls
    for tool in registered:
        tools.unregister(tool.name)


__all__ = ["Reply", "make_session", "run_turn"]
