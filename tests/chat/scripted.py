"""A provider that answers from a script: the loop's tests decide what the "model" says."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from routing.errors import ProviderError
from routing.providers.base import Provider, ProviderStream
from routing.types import Delta, ProviderRequest, ProviderResult, ToolCall, Usage


@dataclass
class Reply:
    text: str = ""
    calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    cost: Decimal | None = None
    delay: float = 0.0  # between streamed words

    def tool_calls(self, step: int) -> list[ToolCall]:
        return [
            ToolCall(
                id=f"call_{step}_{n}",
                name=name,
                arguments=args if isinstance(args, str) else json.dumps(args, sort_keys=True),
            )
            for n, (name, args) in enumerate(self.calls)
        ]


Script = Reply | BaseException | Callable[[ProviderRequest], "Reply"]


class ScriptedProvider(Provider):
    name: ClassVar[str] = "scripted"
    label: ClassVar[str] = "scripted (tests)"
    serves_models: ClassVar[bool] = False

    def __init__(self, replies: list[Script], *, then: Reply | None = None) -> None:
        self.replies = list(replies)
        self.then = then or Reply(text="All done.")
        self.requests: list[ProviderRequest] = []

    def send(self, request: ProviderRequest) -> ProviderStream:
        self.requests.append(request)
        reply = self.replies.pop(0) if self.replies else self.then
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply) and not isinstance(reply, Reply):
            reply = reply(request)
        if request.stream:
            for word in reply.text.split(" "):
                if reply.delay:
                    time.sleep(reply.delay)
                yield Delta(text=word + " ")
        calls = reply.tool_calls(len(self.requests))
        return ProviderResult(
            content=reply.text,
            tool_calls=calls,
            finish_reason="tool_calls" if calls else "stop",
            usage=Usage(prompt_tokens=10, completion_tokens=5, cost=reply.cost),
            model="scripted/model",
        )


def unavailable(message: str = "upstream 503") -> ProviderError:
    return ProviderError(message)
