"""Creating tasks and the human decisions on them: approve, reject, cancel, retry; and
lengthening an unfinished task's timeout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from engine.models import (
    FINISHED_STATES,
    ApprovalDecision,
    Task,
    TaskSource,
    TaskState,
)
from engine.permissions import is_ops_kind
from engine.services.access import Decision, approval_needed_at_creation, check_may_decide
from engine.services.errors import InvalidTransition, TaskNotFound
from engine.services.history import Actor, set_state, system_actor, user_actor
from engine.signals import task_decided


@dataclass(frozen=True)
class CreatedTask:
    task: Task
    created: bool


def lock_task(task_id: int) -> Task:
    """The task row, locked for the rest of the current transaction."""
    try:
        return Task.objects.select_for_update().get(pk=task_id)
    except Task.DoesNotExist:
        raise TaskNotFound(f"task {task_id} does not exist") from None


def create_task(
    *,
    title: str,
    kind: str,
    payload: dict[str, Any] | None = None,
    priority: int = 50,
    dedupe_key: str | None = None,
    max_attempts: int = 3,
    timeout_seconds: int = 300,
    source: TaskSource = TaskSource.USER,
    source_ref: str = "",
    created_by: User | None = None,
    blocked_by: Task | None = None,
    actor: Actor | None = None,
    dangerous: bool = False,
) -> CreatedTask:
    """Create a task, or return the unfinished one that already has this dedupe key.

    `dangerous` marks a task whose approval needs `engine.approve_dangerous_task` (ops
    kinds are dangerous anyway). A person's ops task that they may not approve themselves
    starts waiting for approval, ahead of any blocker."""
    if dedupe_key:
        existing = Task.objects.unfinished().filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return CreatedTask(existing, created=False)
    initial = TaskState.PENDING
    if blocked_by is not None and blocked_by.state != TaskState.DONE:
        initial = TaskState.BLOCKED
    approval = approval_needed_at_creation(kind=kind, created_by=created_by)
    if approval:
        initial = TaskState.WAITING_APPROVAL
    task = Task(
        title=title,
        kind=kind,
        payload=payload or {},
        priority=priority,
        dedupe_key=dedupe_key or None,
        max_attempts=max_attempts,
        timeout_seconds=timeout_seconds,
        source=source,
        source_ref=source_ref,
        created_by=created_by,
        blocked_by=blocked_by,
        state=initial,
        dangerous=dangerous or is_ops_kind(kind),
        approval_reason=approval,
        approval_requested_at=timezone.now() if approval else None,
    )
    who = actor or (user_actor(created_by) if created_by else system_actor(source))
    note = f"created; waits for approval: {approval}" if approval else "created"
    try:
        with transaction.atomic():
            task.save()
            task.events.create(from_state="", to_state=initial, actor=who, note=note)
    except IntegrityError:
        # Lost a race with a concurrent create of the same dedupe key: theirs stands.
        existing = Task.objects.unfinished().filter(dedupe_key=dedupe_key).first()
        if existing is None:
            raise
        return CreatedTask(existing, created=False)
    return CreatedTask(task, created=True)


@transaction.atomic
def request_approval(*, task_id: int, reason: str, actor: Actor) -> Task:
    """Park a task until a human approves or rejects it."""
    task = lock_task(task_id)
    if task.state not in (TaskState.PENDING, TaskState.BLOCKED, TaskState.RUNNING):
        raise InvalidTransition(f"task {task_id} is {task.state}; cannot ask for approval")
    mark_waiting_approval(task, reason=reason, actor=actor)
    return task


def mark_waiting_approval(task: Task, *, reason: str, actor: Actor) -> None:
    """Move a locked task to waiting_approval with its reason; any lease is withdrawn."""
    task.approval_reason = reason
    task.approval_requested_at = timezone.now()
    task.approval_decision = ""
    task.lease_worker = None
    task.lease_expires_at = None
    set_state(
        task,
        TaskState.WAITING_APPROVAL,
        actor=actor,
        note=reason,
        update_fields=[
            "approval_reason",
            "approval_requested_at",
            "approval_decision",
            "lease_worker",
            "lease_expires_at",
        ],
    )


@transaction.atomic
def approve_task(*, task_id: int, user: User, reroute_kind: str = "", note: str = "") -> Task:
    """Approve a waiting task: back to pending, optionally as another kind of work."""
    task = lock_task(task_id)
    check_may_decide(task, user, Decision.APPROVE, as_kind=reroute_kind)
    if task.state != TaskState.WAITING_APPROVAL:
        raise InvalidTransition(f"task {task_id} is {task.state}, not waiting for approval")
    fields = ["approval_decision", "decided_by", "decided_at", "run_after"]
    data: dict[str, Any] = {}
    if reroute_kind and reroute_kind != task.kind:
        data = {"rerouted_from": task.kind, "rerouted_to": reroute_kind}
        task.kind = reroute_kind
        fields.append("kind")
    task.approval_decision = ApprovalDecision.APPROVED
    task.decided_by = user
    task.decided_at = timezone.now()
    task.run_after = task.decided_at
    set_state(
        task,
        TaskState.PENDING,
        actor=user_actor(user),
        note=note or "approved",
        data=data,
        update_fields=fields,
    )
    _announce_decision(task, ApprovalDecision.APPROVED, user)
    return task


@transaction.atomic
def reject_task(*, task_id: int, user: User, note: str = "") -> Task:
    task = lock_task(task_id)
    check_may_decide(task, user, Decision.REJECT)
    if task.state != TaskState.WAITING_APPROVAL:
        raise InvalidTransition(f"task {task_id} is {task.state}, not waiting for approval")
    task.approval_decision = ApprovalDecision.REJECTED
    task.decided_by = user
    task.decided_at = timezone.now()
    set_state(
        task,
        TaskState.CANCELLED,
        actor=user_actor(user),
        note=note or "rejected",
        update_fields=["approval_decision", "decided_by", "decided_at"],
    )
    _announce_decision(task, ApprovalDecision.REJECTED, user)
    return task


def _announce_decision(task: Task, decision: ApprovalDecision, user: User) -> None:
    """Listeners hear of a decision only once it has committed."""
    transaction.on_commit(
        lambda: task_decided.send(sender=Task, task=task, decision=decision, user=user)
    )


@transaction.atomic
def cancel_task(
    *, task_id: int, actor: Actor | None = None, user: User | None = None, note: str = ""
) -> Task:
    """Cancel an unfinished task. A running task's lease is withdrawn: its worker's
    completion will then answer 409 and change nothing.

    A person's decision names the `user`, whose permission is checked (`check_may_decide`)
    and who is the actor; the system's names only its `actor`."""
    task = lock_task(task_id)
    actor = _decider(task, user, Decision.CANCEL, actor)
    if task.state in FINISHED_STATES:
        raise InvalidTransition(f"task {task_id} is already {task.state}")
    task.lease_worker = None
    task.lease_expires_at = None
    set_state(
        task,
        TaskState.CANCELLED,
        actor=actor,
        note=note or "cancelled",
        update_fields=["lease_worker", "lease_expires_at"],
    )
    return task


@transaction.atomic
def retry_task(
    *, task_id: int, actor: Actor | None = None, user: User | None = None, note: str = ""
) -> Task:
    """Give a failed or cancelled task a fresh set of attempts (`user` and `actor` as for
    `cancel_task`)."""
    task = lock_task(task_id)
    actor = _decider(task, user, Decision.RETRY, actor)
    if task.state not in (TaskState.FAILED, TaskState.CANCELLED):
        raise InvalidTransition(f"task {task_id} is {task.state}; only failed or cancelled retry")
    if task.dedupe_key and Task.objects.unfinished().filter(dedupe_key=task.dedupe_key).exists():
        raise InvalidTransition(
            f"another unfinished task holds dedupe key {task.dedupe_key!r}; retry that one"
        )
    task.attempts = 0
    task.run_after = timezone.now()
    try:
        with transaction.atomic():
            set_state(
                task,
                TaskState.PENDING,
                actor=actor,
                note=note or "retried",
                update_fields=["attempts", "run_after"],
            )
    except IntegrityError:
        # A task with the same dedupe key was created since the check above.
        raise InvalidTransition(
            f"another unfinished task holds dedupe key {task.dedupe_key!r}; retry that one"
        ) from None
    return task


def _decider(task: Task, user: User | None, decision: Decision, actor: Actor | None) -> Actor:
    """The history's actor for a decision, once a person's has been checked."""
    if user is not None:
        check_may_decide(task, user, decision)
        return actor or user_actor(user)
    if actor is None:
        raise TypeError("a decision names the user who takes it, or the system's actor")
    return actor


@transaction.atomic
def unblock_task(*, task_id: int, actor: Actor, note: str = "") -> Task:
    """Move a blocked task back to pending at once (a repair: its blocker no longer holds it)."""
    task = lock_task(task_id)
    if task.state != TaskState.BLOCKED:
        raise InvalidTransition(f"task {task_id} is {task.state}, not blocked")
    task.run_after = timezone.now()
    set_state(
        task, TaskState.PENDING, actor=actor, note=note or "unblocked", update_fields=["run_after"]
    )
    return task


@transaction.atomic
def extend_task_timeout(*, task_id: int, seconds: int) -> Task:
    """Let an unfinished task run for at least `seconds` from its attempt's start: the stuck
    detector ends an attempt past its timeout, so work whose own limit was raised while it
    runs (a chat run's time budget) would otherwise be handed to a second worker while the
    first still runs it. Never shortens the timeout; a finished task is an error."""
    task = lock_task(task_id)
    if task.state in FINISHED_STATES:
        raise InvalidTransition(f"task {task_id} is already {task.state}")
    if seconds > task.timeout_seconds:
        task.timeout_seconds = seconds
        task.save(update_fields=["timeout_seconds", "updated_at"])
    return task
