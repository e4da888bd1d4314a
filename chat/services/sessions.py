"""What a person does with a session: create it, send a message, Run, Stop, change its mode
or its budgets. Faces (the page's API, the terminal command) call these."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from chat.errors import InvalidMode, NothingToRun, SessionBusy, SessionNotFound, UserNotFound
from chat.models import (
    ACTIVE_STATES,
    ChatMessage,
    ChatSession,
    ExecutionState,
    MessageRole,
    SessionState,
    ToolExecution,
)
from chat.services.budgets import BudgetTracker
from chat.services.context import close_unanswered_calls
from chat.services.publisher import publish
from chat.services.runs import (
    announce_state,
    created_data,
    enqueue_run,
    extend_run_timeout,
    finish_run,
    lock_session,
    status_data,
)
from chat.stop_reasons import EXPLANATIONS, StopReason
from engine.models import FINISHED_STATES, Task, TaskState
from engine.services import EngineError, cancel_task
from engine.services.history import user_actor
from routing.models import Mode

BUSY_STATES = (*ACTIVE_STATES, SessionState.AWAITING_APPROVAL)
SILENT_RUN_SECONDS = 30
TITLE_CHARS = 80


def _check_mode(mode: str) -> str:
    if mode not in Mode.values:
        raise InvalidMode(f"unknown mode {mode!r}; the modes are {', '.join(Mode.values)}")
    return mode


@transaction.atomic
def create_session(*, owner: User | None, mode: str = Mode.NORMAL, title: str = "") -> ChatSession:
    """A new idle session; its first event, `session.created`, tells the operator stream."""
    session = ChatSession.objects.create(owner=owner, mode=_check_mode(mode), title=title[:200])
    publish(session.pk, "session.created", created_data(session))
    session.refresh_from_db(fields=["last_seq", "last_event_at"])
    return session


@transaction.atomic
def start_session(*, owner: User, mode: str = Mode.NORMAL) -> ChatSession:
    """The New session button: the owner's newest session that was never written in, in
    this mode, or a new one; so clicking it again leaves no trail of empty "Untitled" rows."""
    mode = _check_mode(mode)
    empty = (
        ChatSession.objects.filter(
            owner=owner,
            title="",
            state=SessionState.IDLE,
            run_number=0,
            messages__isnull=True,
            archived_at__isnull=True,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if empty is None:
        return create_session(owner=owner, mode=mode)
    if empty.mode != mode:
        return change_mode(session_id=empty.pk, mode=mode)
    return empty


@transaction.atomic
def set_archived(*, session_id: int, archived: bool) -> ChatSession:
    """Archive a session (kept, with its history, out of the list) or bring it back."""
    session = lock_session(session_id)
    session.archived_at = timezone.now() if archived else None
    session.save(update_fields=["archived_at"])
    return session


def session_for_turn(
    *, session_id: int | None = None, username: str | None = None, mode: str = Mode.NORMAL
) -> ChatSession:
    """The session a one-off turn (`manage.py chat`) runs in: the one named, or a new one
    owned by `username`, or, with neither, by the first superuser (None when there is none:
    an engine-owned session, staff only)."""
    if session_id is not None:
        session = ChatSession.objects.filter(pk=session_id).first()
        if session is None:
            raise SessionNotFound(f"no chat session {session_id}")
        return session
    if username is not None:
        owner = User.objects.filter(username=username).first()
        if owner is None:
            raise UserNotFound(f"no user {username!r}")
    else:
        owner = User.objects.filter(is_superuser=True).order_by("pk").first()
    return create_session(owner=owner, mode=mode)


@transaction.atomic
def post_message(
    *, session_id: int, user: User | None, content: str, queue: bool = True
) -> ChatMessage:
    """A user message starts a new run: the counts of steps, time and retries start over.

    `queue=False` leaves the run to the caller (the terminal command runs it in-process).
    """
    session = lock_session(session_id)
    if session.state in BUSY_STATES:
        raise SessionBusy(f"chat session {session_id} is {session.state}; stop it first")
    close_unanswered_calls(session)
    session.run_number += 1
    session.steps_used = 0
    session.retries_used = 0
    session.seconds_used = 0.0
    session.segment_started_at = None
    session.nudged_rules = []
    if not session.title:
        session.title = " ".join(content.split())[:TITLE_CHARS]
    session.save()
    message = ChatMessage.objects.create(
        session=session, run=session.run_number, role=MessageRole.USER, content=content
    )
    publish(session.pk, "message.user", {"message_id": message.pk, "content": content})
    if queue:
        enqueue_run(session, user=user, resumed=False)
    else:
        announce_state(session, SessionState.QUEUED, detail="running in this process")
    return message


@transaction.atomic
def continue_run(*, session_id: int, user: User | None, queue: bool = True) -> ChatSession:
    """Run: continue a run that paused (Stop, a budget, an error) where it stopped."""
    session = lock_session(session_id)
    if session.state in BUSY_STATES:
        raise SessionBusy(f"chat session {session_id} is {session.state}")
    if not session.messages.exists():
        raise NothingToRun("nothing to run: send a message first")
    reason = StopReason(session.stop_reason) if session.stop_reason else None
    if reason is None or not EXPLANATIONS[reason].resumable:
        raise NothingToRun("the last run completed; send a message to start another")
    # Queued with a budget still used up, the run would only stop again at once (a 202
    # that changed nothing): say which budget, and what to raise.
    tracker = BudgetTracker(session)
    tracker.sync_cost()
    spent = tracker.still_spent()
    if spent is not None:
        raise tracker.spent_error(spent)
    if queue:
        enqueue_run(session, user=user, resumed=True)
    else:
        announce_state(session, SessionState.QUEUED, detail="running in this process")
    return session


def stop_run(*, session_id: int, user: User | None) -> ChatSession:
    """Stop: a queued run is cancelled at once, a running one within a second (the loop
    sees the flag), one waiting for approval gives up its request."""
    with transaction.atomic():
        session = lock_session(session_id)
        if session.state not in BUSY_STATES:
            return session
        session.stop_requested = True
        session.save(update_fields=["stop_requested", "updated_at"])
        task = session.current_task
    if session.state == SessionState.AWAITING_APPROVAL:
        _withdraw_approvals(session, user=user)
        finish_run(session.pk, StopReason.USER_STOPPED, detail="the approval request was withdrawn")
    elif _abandoned(session, task):
        # Nothing is running it (its task ended, its process went silent): stop it here.
        finish_run(session.pk, StopReason.USER_STOPPED, detail="nothing was running it")
    elif task is not None and task.state == TaskState.PENDING:
        try:
            cancel_task(task_id=task.pk, actor=user_actor(user), note="stopped from chat")
        except EngineError:
            pass  # a worker claimed it meanwhile; the loop sees the flag
        else:
            finish_run(session.pk, StopReason.USER_STOPPED, detail="stopped before it started")
    session.refresh_from_db()
    return session


def _abandoned(session: ChatSession, task: Task | None) -> bool:
    if task is not None and task.state in FINISHED_STATES:
        return True
    if session.state == SessionState.QUEUED or session.last_event_at is None:
        return False
    # A live loop publishes at least every second (its meters tick), even in a slow tool.
    return timezone.now() - session.last_event_at > timedelta(seconds=SILENT_RUN_SECONDS)


def _withdraw_approvals(session: ChatSession, *, user: User | None) -> None:
    waiting = ToolExecution.objects.filter(
        session=session, state=ExecutionState.AWAITING_APPROVAL
    ).select_related("approval_task")
    for execution in waiting:
        task = execution.approval_task
        if task is not None and task.state == TaskState.WAITING_APPROVAL:
            try:
                cancel_task(task_id=task.pk, actor=user_actor(user), note="stopped from chat")
            except EngineError:
                continue  # decided meanwhile: the run resumes with that decision
        execution.state = ExecutionState.CANCELLED
        execution.error = "the run was stopped before a decision"
        execution.save(update_fields=["state", "error"])
        ChatMessage.objects.create(
            session=session,
            run=session.run_number,
            role=MessageRole.TOOL,
            tool_call_id=execution.call_id,
            name=execution.tool,
            content="error: the operator stopped the run before approving this call",
        )


@transaction.atomic
def change_mode(*, session_id: int, mode: str) -> ChatSession:
    session = lock_session(session_id)
    if session.state in BUSY_STATES:
        raise SessionBusy(f"chat session {session_id} is {session.state}; stop it first")
    session.mode = _check_mode(mode)
    session.save(update_fields=["mode", "updated_at"])
    publish(session.pk, "session.status", status_data(session, f"mode: {session.mode}"))
    publish(session.pk, "budget.updated", BudgetTracker(session).snapshot())
    return session


BUDGET_FIELDS = ("max_steps", "max_seconds", "max_retries", "max_cost")


@transaction.atomic
def set_budgets(*, session_id: int, limits: dict[str, Any]) -> ChatSession:
    """Override (or, with None, reset to the mode's) limits; a running loop sees them at
    its next check, so raising one and pressing Run continues a paused run. The run task
    of a busy session gets the time a raised time budget needs."""
    session = lock_session(session_id)
    for name in BUDGET_FIELDS:
        if name in limits:
            value = limits[name]
            if name == "max_cost" and value is not None:
                value = Decimal(str(value))
            setattr(session, name, value)
    session.save(update_fields=[*BUDGET_FIELDS, "updated_at"])
    tracker = BudgetTracker(session)
    if session.state in BUSY_STATES:
        extend_run_timeout(session.current_task_id, tracker.limits)
    publish(session.pk, "budget.updated", tracker.snapshot())
    return session
