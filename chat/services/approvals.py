"""A human decided on a dangerous tool call: resume the run that asked.

Approved: the approval task itself goes back to the queue (it is an ``agent`` task for the
session), a worker claims it and the loop runs the approved call. Rejected: the task is
cancelled, so a new run task carries the rejection back to the model.

A run task can also reach a human without a tool call (the engine's unblock rules send one
no online worker can run, an approved call's task included). Approved, it goes back to the
queue like any task; rejected, the run ends, stopped by that human, instead of waiting for a
task that will never run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from chat.models import ChatSession, ExecutionState, SessionState, ToolExecution
from chat.services.publisher import publish
from chat.services.runs import AGENT_KIND, announce_state, enqueue_run, finish_run, lock_session
from chat.stop_reasons import StopReason
from engine.models import ApprovalDecision, Task

log = logging.getLogger(__name__)


def on_task_decided(sender: Any, *, task: Task, decision: str, user: User, **kwargs: Any) -> None:
    if task.kind != AGENT_KIND or not task.source_ref.startswith("chat:"):
        return
    execution = ToolExecution.objects.filter(
        approval_task=task, state=ExecutionState.AWAITING_APPROVAL
    ).first()
    if execution is not None:
        resume_after_decision(execution=execution, task=task, decision=decision, user=user)
    if decision == ApprovalDecision.REJECTED:
        # Still the run's task after that (an approved call's task that no worker could run,
        # asked about again): nothing else will run, so the run ends.
        end_run_of_rejected_task(task=task, user=user)


def end_run_of_rejected_task(*, task: Task, user: User | None) -> bool:
    """End the run whose current task a human rejected; False if no run waits on it."""
    session = ChatSession.objects.filter(current_task=task).only("pk").first()
    if session is None:
        return False
    who = user.get_username() if user else "the operator"
    detail = f"{who} rejected the run's task #{task.pk}"
    return finish_run(session.pk, StopReason.USER_STOPPED, detail=detail)


@transaction.atomic
def resume_after_decision(
    *, execution: ToolExecution, task: Task, decision: str, user: User | None
) -> ChatSession:
    session = lock_session(execution.session_id)
    publish(
        session.pk,
        "approval.decided",
        {"task_id": task.pk, "decision": decision, "by": user.get_username() if user else ""},
    )
    if session.state != SessionState.AWAITING_APPROVAL:
        return session  # stopped meanwhile; the next Run reads the decision
    if decision == ApprovalDecision.APPROVED:
        session.current_task = task
        session.save(update_fields=["current_task", "updated_at"])
        announce_state(session, SessionState.QUEUED, detail=f"approved; task #{task.pk} queued")
    else:
        enqueue_run(session, user=user, resumed=True)
    return session
