"""The tool registry: what the agent may call, with which arguments, in which modes.

Other apps add tools in their ``AppConfig.ready()`` with `chat.tools.register_tool`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chat.tools.schema import JsonSchema, check_schema, validation_errors
from routing.models import Mode, ToolPermission

ALL_MODES: tuple[str, ...] = tuple(Mode.values)
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_OUTPUT_CAP = 8000


class ToolError(Exception):
    """A tool failed; the message is fed back to the model, which may try another way."""


class ToolFatalError(ToolError):
    """A tool failed in a way the model cannot work around: the run stops (tool error)."""


@dataclass(frozen=True)
class ToolContext:
    """Who is calling: tools that act (create a task) act for the session's owner. A session
    with no owner was started by the system (a schedule, an alert, an agent task nobody
    created): only staff may open it, and its tools see what staff see."""

    session_id: int
    owner_id: int | None
    mode: str
    # Set when the run is stopped or its tool timed out; a long tool may poll it and return.
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def by_system(self) -> bool:
        return self.owner_id is None


ToolFunction = Callable[[ToolContext, dict[str, Any]], Any]
# Why a call must be refused before it runs, or None: checked before a dangerous tool asks a
# human for approval, so nobody is asked to approve what would be refused anyway.
ToolRefusal = Callable[[ToolContext], str | None]
# What is wrong with valid arguments measured against what exists (a task kind no worker can
# run, an id that names nothing), each problem saying what does exist; [] when nothing is.
ToolCheck = Callable[[ToolContext, dict[str, Any]], list[str]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: JsonSchema
    function: ToolFunction
    permission: str = ToolPermission.READ
    modes: tuple[str, ...] = ALL_MODES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    output_cap: int = DEFAULT_OUTPUT_CAP
    # A polling tool (e.g. "is that task done yet?") is expected to repeat itself: the
    # repetition guardrail leaves it alone.
    polling: bool = False
    refusal: ToolRefusal | None = None
    check: ToolCheck | None = None

    def refused(self, context: ToolContext) -> str | None:
        return self.refusal(context) if self.refusal is not None else None

    def problems(self, context: ToolContext, arguments: Any) -> list[str]:
        """Everything wrong with a call's arguments: their schema first, then, for valid
        ones, what they name against what exists (the tool's `check`)."""
        errors = self.argument_errors(arguments)
        if errors or self.check is None:
            return errors
        return self.check(context, arguments)

    def spec(self) -> dict[str, Any]:
        """The tool as the model is told about it (OpenAI function format)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def argument_errors(self, arguments: Any) -> list[str]:
        return validation_errors(arguments, self.parameters)

    @property
    def dangerous(self) -> bool:
        return self.permission == ToolPermission.DANGEROUS


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(self, tool: Tool, *, replace: bool = False) -> None:
        if tool.name in self._tools and not replace and self._tools[tool.name] is not tool:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        if tool.permission not in ToolPermission.values:
            raise ValueError(f"{tool.name}: permission must be one of {ToolPermission.values}")
        unknown = set(tool.modes) - set(Mode.values)
        if unknown:
            raise ValueError(f"{tool.name}: unknown modes {sorted(unknown)}")
        if tool.parameters.get("type") != "object":
            raise ValueError(f"{tool.name}: parameters must be a JSON schema of type object")
        check_schema(tool.parameters)
        self._tools[tool.name] = tool

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def all(self) -> list[Tool]:
        return [self._tools[name] for name in sorted(self._tools)]

    def available(self, *, mode: str, permissions: list[str]) -> list[Tool]:
        """The tools a session in this mode may call: the tool allows the mode, the mode's
        policy allows the tool's permission level."""
        return [t for t in self.all() if mode in t.modes and t.permission in permissions]


tools = ToolRegistry()


def register_tool(tool: Tool, *, replace: bool = False) -> None:
    tools.register(tool, replace=replace)
