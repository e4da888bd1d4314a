"""OpenAI's wire shapes: completions, stream chunks, model lists and errors."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from routing.models import Mode
from routing.types import Completion, Delta

TOO_LARGE = (
    "The request body is larger than the gateway takes (DATA_UPLOAD_MAX_MEMORY_SIZE, {size} "
    "bytes). Send a shorter conversation."
)


def _money(value: Decimal) -> float:
    return float(value)


def error_body(
    message: str, *, type_: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def completion_body(
    completion: Completion, *, response_id: str, created: int | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": completion.content or None}
    if completion.tool_calls:
        message["tool_calls"] = [call.as_openai() for call in completion.tool_calls]
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created or int(time.time()),
        "model": completion.model,
        "provider": completion.provider_label,
        "choices": [{"index": 0, "message": message, "finish_reason": completion.finish_reason}],
        "usage": usage_body(completion),
    }


def usage_body(completion: Completion) -> dict[str, Any]:
    usage = completion.usage
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cost": _money(completion.cost),
    }


class ChunkWriter:
    """Turns deltas into `data: {...}` lines of chat.completion.chunk objects."""

    def __init__(self, *, stream_id: str, model: str) -> None:
        self.base = {
            "id": stream_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

    def _line(self, payload: dict[str, Any]) -> bytes:
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return self._line({**self.base, "choices": [choice]})

    def opening(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def delta(self, delta: Delta) -> bytes:
        if delta.tool_call is not None:
            return self._chunk({"tool_calls": [delta.tool_call.as_openai()]})
        return self._chunk({"content": delta.text})

    def closing(self, completion: Completion) -> bytes:
        self.base["model"] = completion.model
        return self._chunk({}, completion.finish_reason)

    def usage(self, completion: Completion) -> bytes:
        return self._line({**self.base, "choices": [], "usage": usage_body(completion)})

    def error(self, message: str, *, type_: str, code: str) -> bytes:
        return self._line(error_body(message, type_=type_, code=code))

    @staticmethod
    def done() -> bytes:
        return b"data: [DONE]\n\n"


def models_body(models: list[str]) -> dict[str, Any]:
    data = [
        {"id": f"mode:{mode.value}", "object": "model", "created": 0, "owned_by": "juggernaut"}
        for mode in Mode
    ]
    data += [
        {"id": name, "object": "model", "created": 0, "owned_by": name.split("/")[0]}
        for name in models
    ]
    return {"object": "list", "data": data}
