"""Reading an OpenAI chat-completions request: which mode, which model, what to pass on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from routing.errors import RoutingError
from routing.models import MODE_NAMES, Mode
from routing.services.policies import ModePolicies
from routing.types import Message, ToolSpec

ROLES = {"system", "developer", "user", "assistant", "tool"}
PASSED_THROUGH = (
    "temperature",
    "top_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "tool_choice",
    "response_format",
    "parallel_tool_calls",
)
MODE_PREFIX = "mode:"


class InvalidRequest(RoutingError):
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.param = param
        if code:
            self.code = code


@dataclass(frozen=True)
class ChatRequest:
    mode: str
    model: str | None
    messages: list[Message]
    tools: list[ToolSpec] | None
    stream: bool
    include_usage: bool
    max_tokens: int | None
    session_ref: str
    extra: dict[str, Any] = field(default_factory=dict)


def _messages(body: dict[str, Any]) -> list[Message]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty list.", param="messages")
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(role, str) or role not in ROLES:
            raise InvalidRequest(
                f"messages[{index}] needs a 'role' among {', '.join(sorted(ROLES))}.",
                param=f"messages[{index}].role",
            )
        content = message.get("content")
        if not (content is None or isinstance(content, str) or _all_objects(content)):
            raise InvalidRequest(
                f"messages[{index}].content must be a string, null or a list of content parts.",
                param=f"messages[{index}].content",
            )
        if "tool_calls" in message:
            _check_tool_calls(message["tool_calls"], param=f"messages[{index}].tool_calls")
    return messages


def _all_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _check_tool_calls(calls: Any, *, param: str) -> None:
    if calls is None:
        return
    if not _all_objects(calls):
        raise InvalidRequest(f"'{param}' must be a list of tool calls.", param=param)
    for index, call in enumerate(calls):
        function = call.get("function")
        if (
            not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            raise InvalidRequest(
                f"{param}[{index}] needs a 'function' with a string 'name' and string "
                "'arguments' (JSON text).",
                param=f"{param}[{index}].function",
            )


def _tools(body: dict[str, Any]) -> list[ToolSpec] | None:
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be a list.", param="tools")
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if (
            not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not function["name"].strip()
        ):
            raise InvalidRequest(
                f'tools[{index}] must be {{"type": "function", "function": {{"name": ..., '
                '"parameters": {...}}}.',
                param=f"tools[{index}].function",
            )
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise InvalidRequest(
                f"tools[{index}].function.parameters must be a JSON Schema object.",
                param=f"tools[{index}].function.parameters",
            )
    return tools or None


def _check_n(body: dict[str, Any]) -> None:
    # One choice per call: the ledger, the budgets and the stream all count one answer.
    n = body.get("n")
    if n is not None and (n != 1 or isinstance(n, bool)):
        raise InvalidRequest("'n' must be 1: the gateway returns one choice per call.", param="n")


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidRequest(f"'{name}' must be a positive integer.", param=name)
        return value
    return None


def resolve_mode(model: str, *, mode_header: str) -> tuple[str, str | None]:
    """(mode, model or None) from `mode:code`, or from a model the policy of a mode allows."""
    if model.startswith(MODE_PREFIX):
        mode = model[len(MODE_PREFIX) :]
        if mode not in MODE_NAMES:
            raise InvalidRequest(
                f"Unknown mode {mode!r}; use one of "
                f"{', '.join(MODE_PREFIX + m for m in Mode.values)}.",
                param="model",
                code="model_not_found",
            )
        return mode, None
    if mode_header:
        if mode_header not in MODE_NAMES:
            raise InvalidRequest(f"X-Juggernaut-Mode {mode_header!r} is not a mode.", param="model")
        return mode_header, model
    mode_allowing = ModePolicies().mode_allowing(model)
    if mode_allowing is None:
        raise InvalidRequest(
            f"The model {model!r} is not allowed by any policy; ask for a mode "
            '(model: "mode:code") or a model listed by GET /v1/models.',
            param="model",
            code="model_not_found",
        )
    return mode_allowing, model


# NUL and the other C0 controls: PostgreSQL's text refuses NUL, and none belongs in a name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _storable(value: str, *, param: str, what: str) -> None:
    """Text the ledger stores as given (a session, a model name) must be storable: a NUL
    would be a 500 on PostgreSQL."""
    if _CONTROL.search(value):
        raise InvalidRequest(f"{what} holds a control character.", param=param)


def parse_chat_request(
    body: Any, *, mode_header: str = "", session_header: str = ""
) -> ChatRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest(
            "'model' is required: a mode (\"mode:code\") or a model id.", param="model"
        )
    messages = _messages(body)
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(
            "The body holds text that is not valid Unicode (a lone surrogate).", param="messages"
        ) from None
    tools = _tools(body)
    _check_n(body)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be true or false.", param="stream")
    options = body.get("stream_options") or {}
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise InvalidRequest("'user' must be a string.", param="user")
    session_ref = session_header or user or ""
    _storable(session_ref, param="user", what="The session (X-Juggernaut-Session or 'user')")
    _storable(model, param="model", what="'model'")
    mode, wanted = resolve_mode(model.strip(), mode_header=mode_header)
    return ChatRequest(
        mode=mode,
        model=wanted,
        messages=messages,
        tools=tools,
        stream=stream,
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        max_tokens=_max_tokens(body),
        session_ref=session_ref[:200],
        extra={name: body[name] for name in PASSED_THROUGH if name in body},
    )
