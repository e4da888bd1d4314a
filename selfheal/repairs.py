"""A repair someone asks for and a person approves: an engine ops task
(`ops.selfheal.repair`), which waits for approval unless its creator may approve it and
repair, and runs the repair as the person who approved it, if they may repair
(`selfheal.run_repair`).

The seam: an app above registers, in its ``AppConfig.ready()``, one listener told of each
such repair once it ran, with the task's payload (the incidents app: the repair an
investigation proposed is the incident's fix, now applied), as the fix opener
(`selfheal.fixes`) routes a pattern's fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User

from engine.executors import ExecutionContext, PermanentFailure
from engine.models import Task, TaskSource, TaskState
from engine.services import create_task, request_approval
from selfheal.errors import SelfhealError
from selfheal.models import PlaybookExecution
from selfheal.services import actor_for, may_run_repair, require_repair_permission, run_repair

logger = logging.getLogger(__name__)

REPAIR_KIND = "ops.selfheal.repair"

RepairListener = Callable[[PlaybookExecution, dict[str, Any]], None]

_repair_listener: list[RepairListener] = []


def register_repair_listener(listener: RepairListener) -> None:
    _repair_listener[:] = [listener]


def request_repair(
    *,
    user: User | None,
    actor: str,
    reason: str,
    context: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> Task:
    """The repair as a task that runs once a person approves it (unless its creator may
    repair and approve it); `context` rides in the payload to the listener (e.g.
    `{"incident": 7}`)."""
    created = create_task(
        title=f"Self-heal repair: {reason}"[:200],
        kind=REPAIR_KIND,
        payload={**(context or {}), "reason": reason[:500]},
        dedupe_key=dedupe_key,
        max_attempts=1,
        timeout_seconds=300,
        source=TaskSource.SELFHEAL,
        created_by=user,
        actor=actor,
    )
    task = created.task
    if created.created and task.state == TaskState.PENDING and not may_run_repair(user):
        # The system's request (no creator) would otherwise run with nobody to run it as.
        task = request_approval(
            task_id=task.pk, reason="a repair runs as a person who may repair", actor=actor
        )
    return task


def run_repair_task(context: ExecutionContext) -> dict[str, Any]:
    """Repair as the person who approved the task (or its creator, who needed no approval)."""
    task = Task.objects.select_related("decided_by", "created_by").get(pk=context.task_id)
    person = task.decided_by or task.created_by
    try:
        require_repair_permission(person)
    except SelfhealError as exc:
        raise PermanentFailure(f"not repaired: {exc}") from exc
    reason = str(context.payload.get("reason", ""))
    execution = run_repair(triggered_by=actor_for(person), reason=reason)
    if _repair_listener:
        try:
            _repair_listener[0](execution, context.payload)
        except Exception:  # the repair ran: a retry must not run it again
            logger.exception("the repair listener failed for execution %s", execution.pk)
    return {"execution": execution.pk, "state": execution.state}
