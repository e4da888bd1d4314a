"""Self-heal's tools for chat's agent: diagnose, read an execution, repair (with approval)."""

from __future__ import annotations

from typing import Any

from chat.tools import Tool, ToolContext, ToolError, register_tool
from routing.models import ToolPermission
from selfheal.api.serializers import execution_detail
from selfheal.errors import SelfhealError
from selfheal.models import PlaybookExecution
from selfheal.playbooks import RepairCommonIssuesPlaybook
from selfheal.services import (
    get_execution,
    require_repair_permission,
    run_diagnosis,
    run_repair,
    user_by_id,
)


def _actor(context: ToolContext) -> str:
    return f"chat:session-{context.session_id}"


def diagnose(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    try:
        return execution_detail(run_diagnosis(triggered_by=_actor(context)))
    except SelfhealError as exc:  # e.g. already running: the model may wait and read it
        raise ToolError(str(exc)) from exc


def read_execution(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    try:
        return execution_detail(get_execution(execution_id=arguments["execution_id"]))
    except SelfhealError as exc:
        raise ToolError(str(exc)) from exc


def check_execution_id(context: ToolContext, arguments: dict[str, Any]) -> list[str]:
    """An id that names no execution is answered with the newest that exist."""
    executions = PlaybookExecution.objects.order_by("-id")
    if executions.filter(pk=arguments["execution_id"]).exists():
        return []
    newest = ", ".join(
        f"#{pk} ({playbook}, {state})"
        for pk, playbook, state in executions.values_list("id", "playbook", "state")[:5]
    )
    return [
        f"execution_id: no self-heal execution #{arguments['execution_id']}; the newest: "
        f"{newest or 'none yet (selfheal_diagnose makes one)'}"
    ]


def _owner(context: ToolContext) -> Any:
    # The tool acts for the session's owner, whoever approved the call. A session the
    # system started has no owner: no one whose permission covers it.
    return user_by_id(context.owner_id) if context.owner_id is not None else None


def repair_refusal(context: ToolContext) -> str | None:
    """Refused before anyone is asked to approve it: approval cannot give the owner a
    permission they lack."""
    try:
        require_repair_permission(_owner(context))
    except SelfhealError as exc:
        return str(exc)
    return None


def repair(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    try:
        # Checked again: the permission may have been taken away while the call waited.
        require_repair_permission(_owner(context))
        execution = run_repair(
            triggered_by=_actor(context), dry_run=bool(arguments.get("dry_run", True))
        )
    except SelfhealError as exc:
        raise ToolError(str(exc)) from exc
    return execution_detail(execution)


NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}

TOOLS = (
    Tool(
        name="selfheal_diagnose",
        description="Diagnose the system: database, workers, task queue, recent error "
        "patterns, completion rates and machine resources, each with a severity, the "
        "numbers behind it and a suggestion.",
        parameters=NO_PARAMETERS,
        function=diagnose,
        timeout_seconds=60,
    ),
    Tool(
        name="selfheal_read_execution",
        description="Read one self-heal execution (a diagnosis, repair or revert) by id.",
        parameters={
            "type": "object",
            "properties": {"execution_id": {"type": "integer", "minimum": 1}},
            "required": ["execution_id"],
            "additionalProperties": False,
        },
        function=read_execution,
        check=check_execution_id,
    ),
    Tool(
        name="selfheal_repair",
        description="Repair common faults within fixed bounds, which hold per window "
        f"(SELFHEAL_BOUND_WINDOW_MINUTES, an hour by default) across every repair: unblock at "
        f"most {RepairCommonIssuesPlaybook.MAX_BLOCKED_RESETS} tasks, reset at most "
        f"{RepairCommonIssuesPlaybook.MAX_STUCK_RESETS} stuck tasks, open at most "
        f"{RepairCommonIssuesPlaybook.MAX_FIX_TASKS} fix tasks, then verify. The result says "
        "`budget_spent` when an earlier repair used a bound up. Reversible. Only for a "
        "session owner who is staff or holds the selfheal.run_repair permission.",
        parameters={
            "type": "object",
            "properties": {"dry_run": {"type": "boolean"}},
            "additionalProperties": False,
        },
        function=repair,
        refusal=repair_refusal,
        permission=ToolPermission.DANGEROUS,
        timeout_seconds=120,
    ),
)


def register() -> None:
    for tool in TOOLS:
        register_tool(tool)
