"""The offline provider: rules, not a model. The default when no provider is configured.

Deterministic: the same messages and tools give the same answer. It picks the tool whose name
and description share the most words with the last user message, fills the tool's required
arguments with simple defaults, and once tool results are back it lists them. Every answer
says it comes from rules, so nobody mistakes it for a model. It costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, ClassVar

from routing.providers.base import Provider, ProviderStream
from routing.tokens import count_words, estimate_tokens
from routing.types import (
    Delta,
    Message,
    ProviderRequest,
    ProviderResult,
    ToolCall,
    ToolCallFragment,
    ToolSpec,
    Usage,
)

OFFLINE_MODEL = "offline/rule-based"
OFFLINE_LABEL = "offline (rule-based)"
PREFIX = f"[{OFFLINE_LABEL}]"
NAME_WEIGHT = 3
MAX_STRING = 200
MAX_RESULT = 200

_STOPWORD_TEXT = (
    "the a an and or but for with from into onto about this that these those there here what "
    "which who whom whose when where why how are was were been being have has had does did "
    "can could should would will shall may might must not please all any some each our your "
    "their its his her them they you me my we us it is be do to of in on at by as so if"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def words(text: str) -> set[str]:
    found = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(word) < 3 or word in STOPWORDS:
            continue
        # "tasks" should meet "task": a crude plural fold is enough for matching tool names.
        found.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return found


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _function(tool: ToolSpec) -> dict[str, Any]:
    function = tool.get("function", tool) if isinstance(tool, dict) else None
    return _mapping(function)


def choose_tool(message: str, tools: list[ToolSpec]) -> dict[str, Any] | None:
    """The function of the best-matching tool, or None when no tool shares a word."""
    wanted = words(message)
    best: dict[str, Any] | None = None
    best_score = 0
    for tool in tools:
        function = _function(tool)
        name_words = words(str(function.get("name", "")).replace("_", " ").replace(".", " "))
        description_words = words(str(function.get("description", "")))
        score = NAME_WEIGHT * len(wanted & name_words) + len(wanted & description_words)
        if score > best_score:
            best, best_score = function, score
    return best


def default_arguments(schema: Any, message: str) -> dict[str, Any]:
    """Values for the schema's required properties that satisfy their types. The schema
    comes from the caller (a gateway client may send any JSON): what is not a schema is
    treated as an empty one, never an error."""
    if not isinstance(schema, dict):
        return {}
    properties = _mapping(schema.get("properties"))
    required = schema.get("required")
    names = [n for n in required if isinstance(n, str)] if isinstance(required, list) else []
    return {
        name: _default_value(_mapping(properties.get(name)), message, name=name) for name in names
    }


def _whole(value: Any, default: int) -> int:
    """A schema keyword's number (minimum, maxLength), or the default if it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        return int(value)
    except (OverflowError, ValueError):  # inf, nan
        return default


# Ids that tasks and alerts quote (fingerprints, digests): long runs of hex digits.
_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{12,64}(?![0-9a-f])")


def _looks_like_id(name: str, prop: dict[str, Any]) -> bool:
    description = str(prop.get("description", "")).lower()
    return name.endswith(("id", "fingerprint")) or " id" in f" {description}"


def _default_value(prop: dict[str, Any], message: str, *, name: str = "") -> Any:
    if "default" in prop:
        return prop["default"]
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        mentioned = [v for v in prop["enum"] if isinstance(v, str) and v.lower() in message.lower()]
        return (mentioned or prop["enum"])[0]
    kind = prop.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if not isinstance(kind, str):
        kind = "string"
    if kind in {"integer", "number"}:
        numbers = re.findall(r"\d+", message)
        value = int(numbers[0]) if numbers else _whole(prop.get("minimum"), 0)
        return value if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return default_arguments(prop, message)
    limit = max(_whole(prop.get("maxLength"), MAX_STRING), 0)
    if _looks_like_id(name, prop):
        found = _HEX_ID.search(message)
        if found:
            return found.group()[:limit]
    return message.strip()[:limit]


def _last_user_index(messages: list[Message]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return index
    return -1


def _text(message: Message) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _tool_names(messages: list[Message]) -> dict[str, str]:
    names: dict[str, str] = {}
    for message in messages:
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                function = _mapping(call.get("function"))
                names[str(call.get("id"))] = str(function.get("name", "tool"))
    return names


def summarise_results(messages: list[Message], results: list[Message]) -> str:
    names = _tool_names(messages)
    lines = [f"{PREFIX} Results of {len(results)} tool call(s):"]
    for result in results:
        name = names.get(str(result.get("tool_call_id")), str(result.get("name") or "tool"))
        text = " ".join(_text(result).split())
        if len(text) > MAX_RESULT:
            text = text[:MAX_RESULT] + "…"
        lines.append(f"- {name}: {text or '(empty)'}")
    return "\n".join(lines)


class OfflineProvider(Provider):
    name: ClassVar[str] = "offline"
    label: ClassVar[str] = OFFLINE_LABEL
    serves_models: ClassVar[bool] = False

    def send(self, request: ProviderRequest) -> ProviderStream:
        content, calls = self.answer(request.messages, request.tools or [])
        if request.stream:
            for word in re.findall(r"\S+\s*", content):
                yield Delta(text=word)
            for index, call in enumerate(calls):
                half = len(call.arguments) // 2
                yield Delta(tool_call=ToolCallFragment(index, call.id, call.name, ""))
                yield Delta(tool_call=ToolCallFragment(index, arguments=call.arguments[:half]))
                yield Delta(tool_call=ToolCallFragment(index, arguments=call.arguments[half:]))
        usage = Usage(
            prompt_tokens=estimate_tokens(request.messages, request.tools),
            completion_tokens=count_words(content) + sum(len(c.arguments) // 4 for c in calls),
            cost=None,
        )
        return ProviderResult(
            content=content,
            tool_calls=calls,
            finish_reason="tool_calls" if calls else "stop",
            usage=usage,
            model=OFFLINE_MODEL,
        )

    def answer(self, messages: list[Message], tools: list[ToolSpec]) -> tuple[str, list[ToolCall]]:
        last_user = _last_user_index(messages)
        request_text = _text(messages[last_user]) if last_user >= 0 else ""
        results = [m for m in messages[last_user + 1 :] if m.get("role") == "tool"]
        if results:
            return summarise_results(messages, results), []
        function = choose_tool(request_text, tools) if tools else None
        if function is not None:
            arguments = default_arguments(function.get("parameters"), request_text)
            encoded = json.dumps(arguments, sort_keys=True)
            digest = hashlib.sha1(  # noqa: S324 - an id, not a secret
                f"{len(messages)}:{function.get('name')}:{encoded}".encode()
            ).hexdigest()[:16]
            call = ToolCall(
                id=f"call_offline_{digest}", name=str(function.get("name")), arguments=encoded
            )
            return "", [call]
        return self._plain_answer(request_text, tools), []

    @staticmethod
    def _plain_answer(request_text: str, tools: list[ToolSpec]) -> str:
        quoted = " ".join(request_text.split())[:MAX_STRING]
        parts = [
            f"{PREFIX} No model is configured, so this answer comes from rules, not a model.",
            "Set OPENROUTER_API_KEY or OPENAI_COMPATIBLE_BASE_URL to use one.",
        ]
        if tools:
            parts.append(f"None of the {len(tools)} available tools matched the request.")
        if quoted:
            parts.append(f"You asked: “{quoted}”.")
        return " ".join(parts)
