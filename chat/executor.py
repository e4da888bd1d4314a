"""The engine executor for kind ``agent``: a worker runs a chat session's loop.

A task made by chat names its session in the payload. Any other agent task (self-heal's fix
tasks, one made by hand) gets a session of its own, owned by the task's creator (no one, a
system session, when the system made it), whose first message is the task's instructions;
a retry of that task finds the same session again. A task that is not its session's current
run task leaves the session alone (chat.services.runs.run_owner_if_not).

Honest outcomes: a run that ended because the model could not be reached, its retry budget
was spent, or something failed inside (a lost database connection) fails the attempt, so
the engine retries the task with backoff, and the retry resumes the session where it
stopped; past `max_attempts` the task fails, visibly. Any other ending is the run's outcome.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction

from chat.models import ChatMessage, ChatSession, MessageRole, SessionState
from chat.services.loop import AgentLoop
from chat.services.publisher import publish
from chat.services.runs import announce_state, created_data
from chat.services.sessions import continue_run
from chat.stop_reasons import StopReason
from engine.executors import ExecutionContext, LeaseLost, PermanentFailure
from engine.models import Task
from routing.models import Mode

DEFAULT_TASK_MODE = Mode.OPS
FAILED_ATTEMPT = (StopReason.MODEL_UNAVAILABLE, StopReason.RETRY_BUDGET, StopReason.INTERNAL_ERROR)


class RunAttemptFailed(Exception):
    """The run ended without an outcome the engine should keep: it retries the task."""


def resume_failed_run(session_id: int, task_id: int) -> None:
    """A retried attempt picks the session up where the failed one stopped, with a retry
    budget of its own (the engine's attempt is the retry now)."""
    with transaction.atomic():
        session = ChatSession.objects.select_for_update().filter(pk=session_id).first()
        if (
            session is None
            or session.current_task_id != task_id
            or session.stop_reason not in FAILED_ATTEMPT
            or session.state not in (SessionState.ERROR, SessionState.STOPPED)
        ):
            return
        if session.stop_reason == StopReason.RETRY_BUDGET:
            session.retries_used = 0
            session.save(update_fields=["retries_used"])
        continue_run(session_id=session_id, user=None, queue=False)


def execute_agent(context: ExecutionContext) -> dict[str, Any]:
    session_id = session_for_task(context)
    if context.attempt > 1:
        resume_failed_run(session_id, context.task_id)
    loop = AgentLoop(
        session_id,
        task_id=context.task_id,
        should_hand_back=context.should_stop,
        holds_lease=context.holds_lease,
    )
    reason = loop.run()
    if loop.lease_lost:
        raise LeaseLost(f"chat session {session_id}: a later attempt of the task runs it")
    if loop.superseded_by is not None:
        # Not this task's run (any more): another task carries it, perhaps right now.
        return {"session": session_id, "skipped": f"the run is task #{loop.superseded_by}'s"}
    if reason in FAILED_ATTEMPT:
        detail = ChatSession.objects.filter(pk=session_id).values_list("stop_detail", flat=True)
        raise RunAttemptFailed(
            f"chat session {session_id}: {reason.value}: {next(iter(detail), '')}"[:1000]
        )
    return {"session": session_id, "stop_reason": reason.value}


def session_for_task(context: ExecutionContext) -> int:
    named = context.payload.get("session")
    if named is not None:
        if not isinstance(named, int) or not ChatSession.objects.filter(pk=named).exists():
            raise PermanentFailure(f"payload names chat session {named!r}, which does not exist")
        return named
    existing = ChatSession.objects.filter(origin_task_id=context.task_id).first()
    if existing is not None:
        return existing.pk
    return _session_from_task(context)


def _instructions(task: Task) -> str:
    payload = dict(task.payload) if isinstance(task.payload, dict) else {}
    text = str(payload.pop("instructions", "") or payload.pop("prompt", "") or task.title)
    payload.pop("mode", None)
    if payload:
        text += "\n\nDetails:\n" + json.dumps(payload, indent=2, sort_keys=True, default=str)
    return text


def _session_from_task(context: ExecutionContext) -> int:
    task = Task.objects.select_related("created_by").get(pk=context.task_id)
    mode = str(context.payload.get("mode") or DEFAULT_TASK_MODE)
    if mode not in Mode.values:
        raise PermanentFailure(f"payload mode {mode!r} is not one of {', '.join(Mode.values)}")
    try:
        with transaction.atomic():
            session = ChatSession.objects.create(
                owner=task.created_by,
                mode=mode,
                title=task.title[:200],
                origin_task=task,
                run_number=1,
                current_task=task,
            )
            publish(session.pk, "session.created", created_data(session))
            ChatMessage.objects.create(
                session=session, run=1, role=MessageRole.USER, content=_instructions(task)
            )
            announce_state(session, SessionState.QUEUED, detail=f"task #{task.pk}")
    except IntegrityError:
        # Another attempt of the same task got there first.
        return ChatSession.objects.get(origin_task=task).pk
    return session.pk
