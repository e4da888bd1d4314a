"""Secrets never leave a tool's output or an event: tokens, keys, passwords, auth headers.

Redaction runs on what the model is fed, what is stored and what is streamed. It errs on the
side of hiding: a value that merely looks like a secret under a secret-sounding name goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

REDACTED = "[redacted]"

SECRET_KEY_NAMES = re.compile(
    r"(?:^|[_.-])(pass(?:word|wd|phrase)?|secret|token|api[_-]?key|access[_-]?key|"
    r"private[_-]?key|authorization|credentials?|cookie|session[_-]?id|signature|dsn)(?:$|[_.-])",
    re.IGNORECASE,
)

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")

_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Authorization headers, bare or quoted as in JSON: the scheme stays, the credential goes.
    (
        re.compile(
            r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(token|bearer|basic)?\s*[^\s\"',;}]+"
        ),
        lambda match: match.group(1) + " ".join(filter(None, (match.group(2), REDACTED))),
    ),
    (re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{16,}"), r"\1 " + REDACTED),
    # Known token shapes: ours (jgt_, jgw_), OpenAI/OpenRouter (sk-...), GitHub, AWS, Slack.
    (re.compile(r"\b(jg[tw]_)[A-Za-z0-9_-]{8,}"), r"\1" + REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "sk-" + REDACTED),
    (re.compile(r"\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{16,}"), r"\1" + REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}"), REDACTED),
    # Credentials inside URLs: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), r"\1" + REDACTED + "@"),
    # key=value and "key": "value" where the key names a secret.
    (
        re.compile(
            r"(?i)([\"']?\b[\w-]*(?:password|passwd|secret|api[_-]?key|apikey|"
            r"access[_-]?key|private[_-]?key)[\w-]*[\"']?\s*[:=]\s*)([\"']?)[^\s\"',;}&]+"
        ),
        r"\1\2" + REDACTED,
    ),
    # "token": "..." too, but not token counts ("prompt_tokens": 12).
    (
        re.compile(
            r"(?i)([\"']?\b[\w-]*token[\w-]*[\"']?\s*[:=]\s*)([\"']?)(?![\d.]+\b)[^\s\"',;}&]+"
        ),
        r"\1\2" + REDACTED,
    ),
]


def redact_text(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secrets replaced; keys naming secrets lose values."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        clean: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and names_secret(key) and _is_secret_value(item):
                clean[key] = REDACTED
            else:
                clean[key] = redact(item)
        return clean
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def names_secret(key: str) -> bool:
    """`apiKey`, `db_password`, `X-Auth-Token`: a key whose value is a secret."""
    return bool(SECRET_KEY_NAMES.search(_CAMEL.sub(r"\1_\2", key)))


def _is_secret_value(value: Any) -> bool:
    # {"token_count": 12} or {"auth_required": true} are not secrets; strings are.
    return isinstance(value, str) and value != ""
