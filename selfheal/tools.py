"""Self-heal's tools for chat's agent, as plain functions and their descriptions.

The chat app does not exist yet, so nothing registers these. When it does, selfheal's
``AppConfig.ready()`` hands each `ToolSpec` to chat's tool registry; ``dangerous`` marks the
tool that must ask for a human's approval before it runs (the repair).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selfheal.serializers import execution_detail
from selfheal.services import get_execution, run_diagnosis, run_repair


def diagnose_tool(*, actor: str) -> dict[str, Any]:
    """Run the six checks; the execution with its findings."""
    return execution_detail(run_diagnosis(triggered_by=actor))


def read_execution_tool(*, actor: str, execution_id: int) -> dict[str, Any]:
    """One execution: findings, actions, snapshots and outcome."""
    return execution_detail(get_execution(execution_id=execution_id))


def repair_tool(*, actor: str, dry_run: bool = True) -> dict[str, Any]:
    """The bounded repair; a dry run unless the caller asks otherwise."""
    return execution_detail(run_repair(triggered_by=actor, dry_run=dry_run))


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]
    func: Callable[..., dict[str, Any]]
    dangerous: bool = False


NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}

TOOLS = (
    ToolSpec(
        name="selfheal_diagnose",
        description="Diagnose the system: database, workers, task queue, recent error "
        "patterns, completion rates and machine resources, each with a severity, the "
        "numbers behind it and a suggestion.",
        parameters=NO_PARAMETERS,
        func=diagnose_tool,
    ),
    ToolSpec(
        name="selfheal_read_execution",
        description="Read one self-heal execution (a diagnosis, repair or revert) by id.",
        parameters={
            "type": "object",
            "properties": {"execution_id": {"type": "integer", "minimum": 1}},
            "required": ["execution_id"],
            "additionalProperties": False,
        },
        func=read_execution_tool,
    ),
    ToolSpec(
        name="selfheal_repair",
        description="Repair common faults within fixed bounds: unblock at most 10 tasks, "
        "reset at most 5 stuck tasks, open at most 3 fix tasks, then verify. Reversible.",
        parameters={
            "type": "object",
            "properties": {"dry_run": {"type": "boolean", "default": True}},
            "additionalProperties": False,
        },
        func=repair_tool,
        dangerous=True,
    ),
)
