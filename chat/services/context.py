"""What the model is shown: a system prompt, then the session's messages."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings

from chat.models import ChatMessage, ChatSession, MessageRole, ToolExecution
from chat.services.guardrails import AnswerRecord, CallRecord, StepRecord, normalise
from chat.tools import tools
from routing.models import ToolPermission

# A call of these that succeeded changed something: an outcome the user can see.
CHANGING_PERMISSIONS = (ToolPermission.WRITE.value, ToolPermission.DANGEROUS.value)

SYSTEM_PROMPT = (
    "You are Juggernaut's operator agent, working in {mode} mode. You look after a control "
    "plane of tasks and workers through the tools you are given. Use a tool when it helps, "
    "answer plainly and briefly when you know enough, and never repeat a call whose result "
    "you already have."
)


def digest(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def model_messages(session: ChatSession) -> list[dict[str, Any]]:
    """The newest messages, never starting between a tool call and its results."""
    limit = settings.CHAT_HISTORY_MESSAGES
    rows = list(session.messages.order_by("-id")[:limit])
    rows.reverse()
    while rows and rows[0].role == MessageRole.TOOL:
        rows.pop(0)
    system = {"role": "system", "content": SYSTEM_PROMPT.format(mode=session.get_mode_display())}
    return [system, *(row.as_model_message() for row in _notes_after_results(rows))]


def _notes_after_results(rows: list[ChatMessage]) -> list[ChatMessage]:
    """A note written while a message's tool calls were still being answered (a guardrail's
    nudge) is shown after their results: a model expects each call's result right after the
    message that made it, and a provider refuses anything in between."""
    ordered: list[ChatMessage] = []
    held: list[ChatMessage] = []
    waiting: set[str] = set()
    for row in rows:
        if row.role == MessageRole.SYSTEM and waiting:
            held.append(row)
            continue
        if row.role == MessageRole.TOOL:
            ordered.append(row)
            waiting.discard(row.tool_call_id)
        else:
            ordered.extend(held)
            held = []
            ordered.append(row)
            waiting = (
                {str(call.get("id", "")) for call in row.tool_calls} if row.tool_calls else set()
            )
        if held and not waiting:
            ordered.extend(held)
            held = []
    return [*ordered, *held]


def pending_tool_calls(session: ChatSession, *, any_run: bool = False) -> list[dict[str, Any]]:
    """Calls of the run's newest assistant message that have no result yet."""
    assistant = session.messages.filter(role=MessageRole.ASSISTANT)
    if not any_run:
        assistant = assistant.filter(run=session.run_number)
    last = assistant.order_by("-id").first()
    if last is None or not last.tool_calls:
        return []
    answered = set(
        session.messages.filter(role=MessageRole.TOOL, id__gt=last.pk).values_list(
            "tool_call_id", flat=True
        )
    )
    return [call for call in last.tool_calls if call.get("id") not in answered]


def call_history(session: ChatSession) -> list[CallRecord]:
    """The run's finished tool executions, oldest first, as the guardrails read them."""
    records = []
    executions = ToolExecution.objects.filter(session=session, run=session.run_number).exclude(
        state__in=["running", "awaiting_approval"]
    )
    for execution in executions.order_by("id"):
        tool = tools.get(execution.tool)
        records.append(
            CallRecord(
                tool=execution.tool,
                arguments_digest=execution.arguments_digest,
                output_digest=execution.output_digest,
                failed=execution.state != "succeeded",
                polling=bool(tool and tool.polling),
            )
        )
    return records


def step_history(session: ChatSession) -> list[StepRecord]:
    """The run's steps that called tools, oldest first, once answered, as the progress rule
    reads them: which tools, whether one changed something, whether one told something new."""
    rows = (
        ToolExecution.objects.filter(session=session, run=session.run_number)
        .exclude(state__in=["running", "awaiting_approval"])
        .order_by("id")
        .values_list("step", "tool", "state", "permission", "output_digest")
    )
    steps: dict[int, list[tuple[str, str, str, str]]] = {}
    for step, *call in rows:
        steps.setdefault(step, []).append((call[0], call[1], call[2], call[3]))
    seen: set[str] = set()
    records = []
    for calls in steps.values():
        succeeded = [c for c in calls if c[1] == "succeeded"]
        outputs = {c[3] for c in succeeded}
        records.append(
            StepRecord(
                tools=tuple(sorted({c[0] for c in calls})),
                outcome=any(c[2] in CHANGING_PERMISSIONS for c in succeeded),
                fresh=bool(outputs - seen),
                polling=all(_is_polling(c[0]) for c in calls),
            )
        )
        seen |= outputs
    return records


def answer_history(session: ChatSession) -> list[AnswerRecord]:
    """The run's user and assistant messages, oldest first, as the answer rules read them.
    A run starts afresh: the last run's messages are not shown."""
    records = []
    rows = session.messages.filter(
        run=session.run_number, role__in=[MessageRole.USER, MessageRole.ASSISTANT]
    ).only("id", "role", "content", "tool_calls")
    for message in rows.order_by("id"):
        if message.role == MessageRole.USER:
            records.append(AnswerRecord(text="", user=True))
            continue
        names = [str((call.get("function") or {}).get("name", "")) for call in message.tool_calls]
        polling = bool(names) and all(_is_polling(name) for name in names)
        records.append(
            AnswerRecord(text=normalise(message.content), calls=bool(names), polling=polling)
        )
    return records


def _is_polling(name: str) -> bool:
    tool = tools.get(name)
    return bool(tool and tool.polling)


def previous_failures(session: ChatSession, *, tool: str, arguments_digest: str) -> int:
    """How many times this exact call already failed in the run: its retry number."""
    return (
        ToolExecution.objects.filter(
            session=session, run=session.run_number, tool=tool, arguments_digest=arguments_digest
        )
        .exclude(state__in=["succeeded", "running", "awaiting_approval"])
        .count()
    )


def add_system_note(session: ChatSession, text: str) -> ChatMessage:
    return ChatMessage.objects.create(
        session=session, run=session.run_number, role=MessageRole.SYSTEM, content=text
    )


def close_unanswered_calls(session: ChatSession) -> None:
    """A new run leaves the last one's unanswered calls behind: each gets a result saying
    so, because a model must see an answer to every call it made."""
    for call in pending_tool_calls(session, any_run=True):
        ChatMessage.objects.create(
            session=session,
            run=session.run_number,
            role=MessageRole.TOOL,
            tool_call_id=str(call.get("id", "")),
            name=str((call.get("function") or {}).get("name", ""))[:100],
            content="error: not run; the run stopped before this call",
        )
