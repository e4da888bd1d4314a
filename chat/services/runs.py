"""A run's life on the session row: queued for a worker, its state announced, finished.

Every change of a session's state here is announced as a `session.status` event in the same
transaction, so the stream and the row never disagree.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from chat.errors import SessionBusy, SessionNotFound
from chat.models import ACTIVE_STATES, ChatSession, SessionState
from chat.services.budgets import BudgetLimits, BudgetTracker
from chat.services.publisher import publish, publish_many
from chat.stop_reasons import StopReason, explain
from engine.models import Task, TaskSource
from engine.services import EngineError, create_task, extend_task_timeout

AGENT_KIND = "agent"
RUN_TIMEOUT_MARGIN_SECONDS = 300

STATE_AFTER = {
    StopReason.COMPLETED: SessionState.IDLE,
    StopReason.AWAITING_APPROVAL: SessionState.AWAITING_APPROVAL,
    StopReason.MODEL_UNAVAILABLE: SessionState.ERROR,
    StopReason.TOOL_ERROR: SessionState.ERROR,
    StopReason.INTERNAL_ERROR: SessionState.ERROR,
}


def lock_session(session_id: int) -> ChatSession:
    session = ChatSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise SessionNotFound(f"chat session {session_id} does not exist")
    return session


def status_data(session: ChatSession, detail: str = "") -> dict[str, Any]:
    """A `session.status` event: the state, and what a list of sessions shows beside it."""
    return {
        "state": session.state,
        "label": SessionState(session.state).label,
        "mode": session.mode,
        "detail": detail,
        "title": session.title,
        "stop_reason": session.stop_reason,
    }


def created_data(session: ChatSession) -> dict[str, Any]:
    """A `session.created` event: the first of every session's log."""
    return {
        "title": session.title,
        "mode": session.mode,
        "state": session.state,
        "label": SessionState(session.state).label,
    }


def announce_state(session: ChatSession, state: SessionState, *, detail: str = "") -> None:
    """Save the session's new state and publish it."""
    session.state = state
    session.save(update_fields=["state", "updated_at"])
    publish(session.pk, "session.status", status_data(session, detail))


def run_timeout(limits: BudgetLimits) -> int:
    """The engine timeout of a task that runs the loop: the run's time budget and a margin,
    so the stuck detector never requeues a live run (a second worker would run it too)."""
    return limits.seconds + RUN_TIMEOUT_MARGIN_SECONDS


def extend_run_timeout(task_id: int | None, limits: BudgetLimits) -> None:
    """The run task's engine timeout follows the time budget up (a budget raised while the
    run runs): past it the stuck detector would give a live run to a second worker."""
    if task_id is None:
        return
    with contextlib.suppress(EngineError):  # it finished meanwhile: nothing runs on it
        extend_task_timeout(task_id=task_id, seconds=run_timeout(limits))


def run_owner_if_not(session: ChatSession, task_id: int | None) -> int | None:
    """The session's current task when a loop started by another task must leave the
    session alone (an old attempt the engine handed out again, a run task an approval
    replaced): the current one may be running it right now on another worker."""
    current = session.current_task_id
    if task_id is None or current is None or current == task_id:
        return None
    return current


def enqueue_run(session: ChatSession, *, user: User | None, resumed: bool) -> Task:
    """Queue the session's run for a worker. The caller holds the session row locked."""
    if session.state in ACTIVE_STATES:
        raise SessionBusy(f"chat session {session.pk} is {session.state}; stop it first")
    created = create_task(
        title=f"Chat #{session.pk}: {session.title or 'run'}"[:200],
        kind=AGENT_KIND,
        payload={"session": session.pk, "resumed": resumed},
        priority=60,
        dedupe_key=f"chat:{session.pk}:run",
        timeout_seconds=run_timeout(BudgetLimits.for_session(session)),
        source=TaskSource.CHAT,
        source_ref=session.ref,
        created_by=user,
    )
    if not created.created:
        raise SessionBusy(f"chat session {session.pk} already has run task #{created.task.pk}")
    session.current_task = created.task
    session.stop_reason = ""
    session.stop_detail = ""
    session.stop_requested = False
    session.save(
        update_fields=["current_task", "stop_reason", "stop_detail", "stop_requested", "updated_at"]
    )
    announce_state(
        session, SessionState.QUEUED, detail=f"waiting for a worker (task #{created.task.pk})"
    )
    return created.task


def finish_run(session_id: int, reason: StopReason, *, detail: str = "") -> bool:
    """End the run with a reason, once: False when it had already ended (a Stop and the
    loop may both try)."""
    with transaction.atomic():
        session = lock_session(session_id)
        if session.state not in (*ACTIVE_STATES, SessionState.AWAITING_APPROVAL):
            return False
        tracker = BudgetTracker(session)
        now = timezone.now()
        session.seconds_used = tracker.seconds_used(now)
        session.segment_started_at = None
        session.state = STATE_AFTER.get(reason, SessionState.STOPPED)
        session.stop_reason = reason
        session.stop_detail = detail
        session.stop_requested = False
        session.save(
            update_fields=[
                "seconds_used",
                "segment_started_at",
                "state",
                "stop_reason",
                "stop_detail",
                "stop_requested",
                "updated_at",
            ]
        )
        publish_many(
            session.pk,
            [
                ("budget.updated", tracker.snapshot()),
                ("run.stopped", explain(reason, detail=detail)),
                ("session.status", status_data(session, detail)),
            ],
        )
    return True
