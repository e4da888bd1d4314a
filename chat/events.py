"""The stream-event contract: every type's schema, in one place.

An event is ``{"v": 1, "seq", "session", "type", "ts", "data"}``. The server validates every
event's data against its type's schema before storing it; the chat page receives the same
table (`schema_document()`, via json_script) and docs/events.md describes it. Tests fail when
the page's handlers, this table or the documentation drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERSION = 1

# Field types: a JSON kind, optionally "|null".
_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "number": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    fields: dict[str, str]
    optional: tuple[str, ...] = ()
    stored: bool = True  # False: a control frame (ping), not part of the replayable log
    ops: bool = False  # also relayed on the operator-wide stream
    extra: dict[str, Any] = field(default_factory=dict)


_BUDGET_FIELDS = {"steps": "dict", "seconds": "dict", "retries": "dict", "cost": "dict"}

EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType(
            "session.created",
            "The session was created: the first event of its log. With `session.status` it is "
            "what keeps a list of sessions live on the operator stream.",
            {"title": "str", "mode": "str", "state": "str", "label": "str"},
            ops=True,
        ),
        EventType(
            "session.status",
            "The session's state changed (idle, queued, thinking, running_tool, "
            "awaiting_approval, stopped, error), or its mode; `title` and `stop_reason` are "
            "the session's now (absent from events stored before they were added).",
            {
                "state": "str",
                "label": "str",
                "mode": "str",
                "detail": "str",
                "title": "str",
                "stop_reason": "str",
            },
            optional=("title", "stop_reason"),
            ops=True,
        ),
        EventType(
            "run.started",
            "A run started, or a paused run continued.",
            {"run": "int", "resumed": "bool"},
            ops=True,
        ),
        EventType(
            "message.user",
            "A user message was added to the session.",
            {"message_id": "int", "content": "str"},
        ),
        EventType(
            "message.delta",
            "Part of the assistant's answer as it streams (deltas are batched, ~50 ms).",
            {"step": "int", "text": "str"},
        ),
        EventType(
            "message.done",
            "The assistant finished a message: its full text, the tools it calls, its cost.",
            {
                "message_id": "int",
                "step": "int",
                "content": "str",
                "tool_calls": "list",
                "model": "str",
                "provider": "str",
                "offline": "bool",
                "prompt_tokens": "int",
                "completion_tokens": "int",
                "cost": "str",
            },
        ),
        EventType(
            "tool.started",
            "A tool began to run with validated (and redacted) arguments.",
            {
                "execution_id": "int",
                "tool": "str",
                "arguments": "dict",
                "permission": "str",
                "step": "int",
                "retry_number": "int",
            },
        ),
        EventType(
            "tool.finished",
            "A tool returned; `output` is capped and redacted.",
            {
                "execution_id": "int",
                "tool": "str",
                "summary": "str",
                "output": "str",
                "duration_ms": "int",
            },
        ),
        EventType(
            "tool.failed",
            "A tool call failed: invalid arguments, an error, a timeout, a rejection or a stop.",
            {
                "execution_id": "int|null",
                "tool": "str",
                "state": "str",
                "error": "str",
                "duration_ms": "int",
            },
        ),
        EventType(
            "budget.updated",
            "The run's use of each budget: {used, limit} for steps, seconds, retries and cost "
            "(cost as decimal strings). Sent every step, every second while running, and at once "
            "when a count or a limit changes.",
            _BUDGET_FIELDS,
        ),
        EventType(
            "guardrail.tripped",
            "A guardrail rule matched (`rule`: repeated_call, repeated_failure, "
            "alternating_calls, repeated_answer, empty_answers, no_progress): `action` is "
            "nudge (the model was warned) or stop.",
            {"rule": "str", "action": "str", "detail": "str"},
        ),
        EventType(
            "approval.requested",
            "A dangerous tool waits for a human: the engine task in waiting_approval.",
            {
                "execution_id": "int",
                "task_id": "int",
                "tool": "str",
                "arguments": "dict",
                "reason": "str",
            },
            ops=True,
        ),
        EventType(
            "approval.decided",
            "A human approved or rejected the request; the run resumes.",
            {"task_id": "int", "decision": "str", "by": "str"},
            ops=True,
        ),
        EventType(
            "run.stopped",
            "The run stopped: the reason, a sentence, and what to do about it.",
            {
                "reason": "str",
                "label": "str",
                "sentence": "str",
                "suggestions": "list",
                "resumable": "bool",
                "detail": "str",
            },
            ops=True,
        ),
        EventType(
            "error",
            "Something failed that the operator should see.",
            {"message": "str", "code": "str"},
            ops=True,
        ),
        EventType(
            "ping",
            "The server's heartbeat, every CHAT_WS_HEARTBEAT_SECONDS; not stored, seq is null. "
            "`last_seq` is the session's newest stored seq (null on the operator stream), so a "
            "client can notice it missed the tail of the stream.",
            {"last_seq": "int|null"},
            stored=False,
        ),
    )
}


@dataclass(frozen=True)
class NoticeKind:
    name: str
    description: str
    fields: dict[str, str]


# Operator-wide notices: not tied to a session, never stored, so no seq and no replay.
# ``{"v": 1, "seq": null, "session": null, "type": "ops.notice", "ts", "data": {"kind", ...}}``
OPS_NOTICE = "ops.notice"

NOTICE_KINDS: dict[str, NoticeKind] = {
    k.name: k
    for k in (
        NoticeKind(
            "alert",
            "An alert started firing (the log crawler): `url` is the page to look at.",
            {
                "alert": "int",
                "title": "str",
                "severity": "str",
                "fingerprint": "str|null",
                "task": "int|null",
                "url": "str",
            },
        ),
        NoticeKind(
            "incident",
            "An incident changed state (the incidents app): `url` is its page.",
            {
                "incident": "int",
                "title": "str",
                "from_state": "str",
                "state": "str",
                "actor": "str",
                "url": "str",
            },
        ),
    )
}


class InvalidEvent(ValueError):
    pass


def _matches(value: Any, kind: str) -> bool:
    nullable = kind.endswith("|null")
    base = kind.removesuffix("|null")
    if value is None:
        return nullable
    if isinstance(value, bool) and base in {"int", "number"}:
        return False
    return isinstance(value, _KINDS[base])


def validate_event(event_type: str, data: dict[str, Any]) -> None:
    """Raise `InvalidEvent` naming every problem; unknown fields are refused too."""
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise InvalidEvent(f"unknown event type {event_type!r}")
    if not isinstance(data, dict):
        raise InvalidEvent(f"{event_type}: data must be an object")
    problems = _problems(spec.fields, spec.optional, data)
    if problems:
        raise InvalidEvent(f"{event_type}: " + "; ".join(problems))


def validate_notice(kind: str, data: dict[str, Any]) -> None:
    """Raise `InvalidEvent` naming every problem with an operator notice's fields."""
    spec = NOTICE_KINDS.get(kind)
    if spec is None:
        raise InvalidEvent(f"unknown notice kind {kind!r}")
    if not isinstance(data, dict):
        raise InvalidEvent(f"{OPS_NOTICE} {kind}: data must be an object")
    problems = _problems(spec.fields, (), data)
    if problems:
        raise InvalidEvent(f"{OPS_NOTICE} {kind}: " + "; ".join(problems))


def _problems(fields: dict[str, str], optional: tuple[str, ...], data: dict[str, Any]) -> list[str]:
    problems = []
    for name, kind in fields.items():
        if name not in data:
            if name not in optional:
                problems.append(f"{name} is required")
        elif not _matches(data[name], kind):
            problems.append(f"{name} must be {kind}, got {type(data[name]).__name__}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        problems.append(f"unknown fields {unknown}")
    return problems


def ops_types() -> frozenset[str]:
    return frozenset(name for name, spec in EVENT_TYPES.items() if spec.ops)


def schema_document() -> dict[str, Any]:
    """The contract as JSON: what the browser and other clients receive."""
    return {
        "version": VERSION,
        "envelope": ["v", "seq", "session", "type", "ts", "data"],
        "types": {
            name: {
                "description": spec.description,
                "fields": spec.fields,
                "required": [f for f in spec.fields if f not in spec.optional],
                "stored": spec.stored,
                "ops": spec.ops,
            }
            for name, spec in EVENT_TYPES.items()
        },
        "notices": {
            name: {"description": spec.description, "fields": spec.fields}
            for name, spec in NOTICE_KINDS.items()
        },
    }
