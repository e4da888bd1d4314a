"""The offline provider: rules, not a model. The default when no provider is configured.

Deterministic: the same messages and tools give the same answer. It picks the tool whose name
and description share the most words with the last user message, fills the arguments the
request gives (`match_arguments`), and calls it only when every required one is there;
otherwise it says which it could not tell. Once tool results are back it lists them. Every
answer says it comes from rules, so nobody mistakes it for a model. It costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
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


class _Nothing:
    """No value the request gives (None could be one)."""


NOTHING = _Nothing()
# `name: value`, `name=value`; the value bare, or in double quotes, curly quotes or backticks.
_NAMED = re.compile(
    r"(?<![\w\-\"'])([A-Za-z_][\w\-]*)\s*[:=]\s*(\"[^\"]*\"|“[^”]*”|`[^`]*`|[^\s,;]+)"
)
_QUOTED = re.compile(r"\"([^\"\n]{1,500})\"|“([^”\n]{1,500})”|`([^`\n]{1,500})`")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")


@dataclass
class _Request:
    """What the request's text offers the arguments, each thing used once."""

    text: str
    named: dict[str, str]
    numbers: list[str]
    quoted: list[str]

    @classmethod
    def read(cls, text: str) -> _Request:
        named = {_key(m.group(1)): _unquote(m.group(2)) for m in _NAMED.finditer(text)}
        # Data the request quotes ({"key": "logs:98ef...", "count": 22}) is no phrase.
        prose = text
        while _JSON_OBJECT.search(prose):
            prose = _JSON_OBJECT.sub(" ", prose)
        quoted = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(prose)]
        # A quoted value given by name is that name's; bare quotes are left for the rest.
        quoted = [q for q in quoted if q not in named.values()]
        numbers = [n for n in _NUMBER.findall(_QUOTED.sub(" ", prose)) if n not in named.values()]
        return cls(text, named, numbers, quoted)


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] + value[-1] in {'""', "“”", "``"}:
        return value[1:-1]
    return value


def match_arguments(schema: Any, message: str) -> tuple[dict[str, Any], list[str]]:
    """The arguments the request gives: each required property it can match (the ones it
    cannot are returned as missing), and each optional one it names or whose allowed value it
    mentions. Never a guess: a required string is not filled with the request's own words.

    What matches: `name: value` or `name=value` in the request; a value of the property's
    enum that the request mentions; for a required number, the next number the request
    holds; for a required id, a long hex id it quotes; for a required string, a phrase it
    puts in quotes. The schema comes from the caller (a gateway client may send any JSON):
    what is not a schema is treated as an empty one, never an error."""
    return _match_object(schema, _Request.read(message))


def _match_object(schema: Any, request: _Request) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(schema, dict):
        return {}, []
    properties = _mapping(schema.get("properties"))
    required = schema.get("required")
    wanted = [n for n in required if isinstance(n, str)] if isinstance(required, list) else []
    optional = [n for n in properties if isinstance(n, str) and n not in wanted]
    arguments: dict[str, Any] = {}
    missing: list[str] = []
    for name in wanted + optional:
        must = name in wanted
        value = _match_value(_mapping(properties.get(name)), request, name=name, required=must)
        if value is NOTHING:
            if must:
                missing.append(name)
            continue
        arguments[name] = value
    return arguments, missing


def _kind(prop: dict[str, Any]) -> str:
    kind = prop.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return kind if isinstance(kind, str) else "string"


def _match_value(prop: dict[str, Any], request: _Request, *, name: str, required: bool) -> Any:
    given = request.named.get(_key(name))
    if given is not None:
        return _coerce(given, prop)
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return _mentioned(enum, request.text)
    if not required:
        return NOTHING
    if "default" in prop:
        return prop["default"]
    kind = _kind(prop)
    if kind in {"integer", "number"}:
        while request.numbers:
            value = _coerce(request.numbers.pop(0), prop)
            if value is not NOTHING:
                return value
        return NOTHING
    if kind == "object":
        arguments, missing = _match_object(prop, request)
        return NOTHING if missing else arguments
    if kind != "string":
        return NOTHING  # a boolean or a list is never guessed
    limit = max(_whole(prop.get("maxLength"), MAX_STRING), 0)
    if _looks_like_id(name, prop):
        found = _HEX_ID.search(request.text)
        return found.group()[:limit] if found else NOTHING
    if request.quoted:
        return request.quoted.pop(0)[:limit]
    return NOTHING


def _mentioned(enum: list[Any], text: str) -> Any:
    lowered = text.lower()
    for value in enum:
        if isinstance(value, str) and re.search(
            rf"(?<!\w){re.escape(value.lower())}(?!\w)", lowered
        ):
            return value
    return enum[0] if len(enum) == 1 else NOTHING


def _coerce(text: str, prop: dict[str, Any]) -> Any:
    """`text` as the property's type, or NOTHING when it is not one."""
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return next((v for v in enum if str(v).lower() == text.lower()), NOTHING)
    kind = _kind(prop)
    if kind in {"integer", "number"}:
        try:
            number: int | float = int(text) if kind == "integer" else float(text)
        except ValueError:
            return NOTHING
        low, high = _whole(prop.get("minimum"), -(2**63)), _whole(prop.get("maximum"), 2**63)
        return number if low <= number <= high else NOTHING
    if kind == "boolean":
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else NOTHING
    if kind == "string":
        return text[: max(_whole(prop.get("maxLength"), MAX_STRING), 0)]
    return NOTHING


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


def _could_not(function: dict[str, Any], missing: list[str]) -> str:
    """Says which arguments the rules could not find, instead of calling the tool with a
    guess (a task whose kind was the whole request, issue 15)."""
    properties = _mapping(_mapping(function.get("parameters")).get("properties"))
    named = []
    for name in missing:
        description = str(_mapping(properties.get(name)).get("description") or "").strip()
        named.append(f"`{name}` ({description.rstrip('.')})" if description else f"`{name}`")
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return (
        f"{PREFIX} The request fits the tool `{function.get('name')}`, but rules could not "
        f"tell its {listed} from it, so the tool was not called. Give "
        f"{'it' if len(named) == 1 else 'them'} in the request (for example "
        f"`{missing[0]}: …`, quotes for text with spaces), or set OPENROUTER_API_KEY or "
        "OPENAI_COMPATIBLE_BASE_URL to use a model."
    )


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
            arguments, missing = match_arguments(function.get("parameters"), request_text)
            if missing:
                return _could_not(function, missing), []
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
