"""The shapes that cross routing's boundary: requests to providers, deltas, completions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Message = dict[str, Any]
ToolSpec = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call: `arguments` is the JSON text the model wrote."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; {} when the model wrote something that is not an object."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def as_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class ToolCallFragment:
    """Part of a tool call as it streams: id and name come first, arguments in pieces."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""

    def as_openai(self) -> dict[str, Any]:
        function: dict[str, Any] = {"arguments": self.arguments}
        if self.name:
            function["name"] = self.name
        payload: dict[str, Any] = {"index": self.index, "function": function}
        if self.id:
            payload["id"] = self.id
            payload["type"] = "function"
        return payload


@dataclass(frozen=True)
class Delta:
    """One piece of a streamed answer: text, or a fragment of a tool call."""

    text: str = ""
    tool_call: ToolCallFragment | None = None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal | None = None  # what the provider says it charged, when it says

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ProviderRequest:
    model: str
    messages: list[Message]
    tools: list[ToolSpec] | None = None
    fallback_models: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    max_price_per_1k: Decimal | None = None
    stream: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # passed through: temperature…
    max_attempts: int | None = None  # HTTP requests this may take, retries included


@dataclass(frozen=True)
class ProviderResult:
    content: str
    tool_calls: list[ToolCall]
    finish_reason: str
    usage: Usage
    model: str
    generation_id: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class Completion:
    """What `routing.services.complete` returns."""

    content: str
    tool_calls: list[ToolCall]
    finish_reason: str
    usage: Usage
    cost: Decimal
    model: str
    provider: str
    provider_label: str
    mode: str
    call_id: int | None
    latency_ms: int
    fallbacks_tried: list[str] = field(default_factory=list)

    @property
    def offline(self) -> bool:
        return self.provider == "offline"
