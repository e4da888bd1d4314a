"""Server-sent events as OpenAI-style servers send them, and the assembly of their chunks.

OpenRouter sends `: OPENROUTER PROCESSING` comment lines while it waits for a model, splits
tool calls across chunks (id and name first, the arguments in fragments), puts `usage` with
its `cost` in the last chunk, and reports a failure after the 200 as a chunk with a top-level
`error` and `finish_reason: "error"`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from routing.errors import ProviderStreamError
from routing.types import Delta, ProviderResult, ToolCall, ToolCallFragment, Usage

DONE = "[DONE]"


def iter_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Lines of a byte stream, decoded only once whole (a UTF-8 character may be split)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk:
            continue
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode("utf-8", errors="replace")
    if buffer:
        yield buffer.rstrip(b"\r").decode("utf-8", errors="replace")


def iter_events(lines: Iterable[str]) -> Iterator[str]:
    """The data of each event; comment lines (starting with ':') and other fields ignored."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def parse_json(text: str) -> Any:
    """JSON with exact decimals, so a reported cost is never rounded through a float."""
    return json.loads(text, parse_float=Decimal)


def parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    cost = raw.get("cost")
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
        cost=Decimal(str(cost)) if isinstance(cost, int | float | Decimal) else None,
    )


def error_message(payload: dict[str, Any]) -> str:
    error = payload.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        message = str(error.get("message") or "no message")
        return f"{message} (code {code})" if code is not None else message
    return str(error)


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamAssembler:
    """Feeds on chunks; yields deltas; knows the whole answer at the end."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    finish_reason: str = ""
    usage: Usage | None = None
    model: str = ""
    generation_id: str = ""
    done: bool = False

    def feed(self, payload: dict[str, Any]) -> list[Delta]:
        if payload.get("error"):
            raise ProviderStreamError(
                f"the provider failed mid-answer: {error_message(payload)}. Retry the call; "
                "the next try may go to another provider or model."
            )
        self.model = str(payload.get("model") or self.model)
        self.generation_id = str(payload.get("id") or self.generation_id)
        self.usage = parse_usage(payload.get("usage")) or self.usage
        deltas: list[Delta] = []
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                self.text.append(content)
                deltas.append(Delta(text=content))
            for raw in delta.get("tool_calls") or []:
                deltas.append(Delta(tool_call=self._feed_tool_call(raw)))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return deltas

    def _feed_tool_call(self, raw: dict[str, Any]) -> ToolCallFragment:
        index = int(raw.get("index") or 0)
        function = raw.get("function") or {}
        partial = self.calls.setdefault(index, _PartialCall())
        call_id = str(raw.get("id") or "")
        name = str(function.get("name") or "")
        arguments = str(function.get("arguments") or "")
        # Some servers repeat the id and name on every fragment; the first one counts.
        partial.id = partial.id or call_id
        partial.name = partial.name or name
        partial.arguments.append(arguments)
        return ToolCallFragment(index=index, id=call_id, name=name, arguments=arguments)

    @property
    def finished(self) -> bool:
        return self.done or bool(self.finish_reason)

    def result(self, *, attempts: int, fallback_model: str) -> ProviderResult:
        calls = [
            ToolCall(id=p.id or f"call_{i}", name=p.name, arguments="".join(p.arguments))
            for i, p in sorted(self.calls.items())
        ]
        return ProviderResult(
            content="".join(self.text),
            tool_calls=calls,
            finish_reason=self.finish_reason or ("tool_calls" if calls else "stop"),
            usage=self.usage or Usage(),
            model=self.model or fallback_model,
            generation_id=self.generation_id,
            attempts=attempts,
        )


def parse_completion(body: Any, *, attempts: int, fallback_model: str) -> ProviderResult:
    """A non-streamed chat completion body."""
    if not isinstance(body, dict):
        raise ProviderStreamError("the provider answered 200 with something that is not JSON")
    if body.get("error"):
        raise ProviderStreamError(f"the provider failed: {error_message(body)}")
    choices = body.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    calls = [
        ToolCall(
            id=str(raw.get("id") or f"call_{i}"),
            name=str((raw.get("function") or {}).get("name") or ""),
            arguments=str((raw.get("function") or {}).get("arguments") or ""),
        )
        for i, raw in enumerate(message.get("tool_calls") or [])
    ]
    return ProviderResult(
        content=str(message.get("content") or ""),
        tool_calls=calls,
        finish_reason=str(choice.get("finish_reason") or ("tool_calls" if calls else "stop")),
        usage=parse_usage(body.get("usage")) or Usage(),
        model=str(body.get("model") or fallback_model),
        generation_id=str(body.get("id") or ""),
        attempts=attempts,
    )
