"""Who may take a decision on a task: cancel, retry, approve or reject it.

The rules (docs/security.md, "Roles and permissions"): anyone may decide their own tasks;
tasks other people or the system created need `engine.decide_others_task`. Approving (or
retrying, which runs it again) a dangerous task, an ops task or a chat agent's dangerous
tool call, needs `engine.approve_dangerous_task`, and with `FOUR_EYES` on, never by the
person who asked for it. Superusers hold every permission; four eyes binds them too.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.conf import settings

from engine.models import Task
from engine.permissions import (
    APPROVE_DANGEROUS_TASKS,
    DECIDE_OTHERS_TASKS,
    has_permission,
    is_ops_kind,
)
from engine.services.errors import NotAllowed


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    RETRY = "retry"


# Decisions that let a task's work run.
RUNS_IT = (Decision.APPROVE, Decision.RETRY)


def is_dangerous(task: Task, *, as_kind: str = "") -> bool:
    """Approving it lets something dangerous run: the task is marked so, it is an ops task,
    or the approval reroutes it to an ops kind."""
    return task.dangerous or is_ops_kind(task.kind) or is_ops_kind(as_kind)


def decision_refusal(task: Task, user: Any, decision: Decision, *, as_kind: str = "") -> str:
    """Why `user` may not take `decision` on `task`, or "" when they may."""
    if not getattr(user, "is_active", False):
        return "only an active user may decide tasks"
    own = task.created_by_id is not None and task.created_by_id == user.pk
    if not own and not has_permission(user, DECIDE_OTHERS_TASKS):
        whose = "the system" if task.created_by_id is None else "another user"
        return (
            f"task {task.pk} was created by {whose}; deciding it needs the "
            f"{DECIDE_OTHERS_TASKS} permission"
        )
    if decision in RUNS_IT and is_dangerous(task, as_kind=as_kind):
        if not has_permission(user, APPROVE_DANGEROUS_TASKS):
            return (
                f"task {task.pk} is dangerous (an ops task or a dangerous tool call); "
                f"to {decision} it needs the {APPROVE_DANGEROUS_TASKS} permission"
            )
        if own and settings.FOUR_EYES:
            return (
                f"four eyes: task {task.pk} is dangerous and you asked for it; someone else "
                f"must {decision} it"
            )
    return ""


def check_may_decide(task: Task, user: Any, decision: Decision, *, as_kind: str = "") -> None:
    """Raise `NotAllowed` (403) unless `user` may take `decision` on `task`."""
    refusal = decision_refusal(task, user, decision, as_kind=as_kind)
    if refusal:
        raise NotAllowed(refusal)


def may_decide(task: Task, user: Any, decision: Decision) -> bool:
    return not decision_refusal(task, user, decision)


def approval_needed_at_creation(*, kind: str, created_by: Any) -> str:
    """Why a person's new task must wait for approval before it may run, or "": an ops task
    waits unless its creator may approve it themselves (and four eyes are off)."""
    if created_by is None or not is_ops_kind(kind):
        return ""
    if settings.FOUR_EYES:
        return f"{kind} is an ops task; four eyes: someone other than its creator approves it"
    if not has_permission(created_by, APPROVE_DANGEROUS_TASKS):
        return (
            f"{kind} is an ops task; its creator may not approve dangerous tasks, so someone "
            "who may approves it"
        )
    return ""
