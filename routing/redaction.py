"""Secrets never leave a tool's output, an event, an upstream's error or the ledger: the
values of our own secret settings, and anything shaped like a token, key, password or auth
header.

The one mechanism for the whole project: chat runs it on what the model is fed, what is
stored and what is streamed; routing on every provider error and every ledger row's error
(an upstream may echo the key it was sent); logcrawler on Railway's answers. It errs on the
side of hiding: a value that merely looks like a secret under a secret-sounding name goes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

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


# Settings whose values are secrets: SECRET_KEY, OPENROUTER_API_KEY, RAILWAY_TOKEN,
# GITHUB_TOKEN, LOGCRAWLER_WEBHOOK_SECRET... and every database password.
_SECRET_SETTING = re.compile(r"(?:^|_)(?:KEY|TOKEN|SECRET|PASSWORD)(?:_FALLBACKS)?$")
# Shorter values would be hidden inside ordinary words; no real key is this short.
MIN_KNOWN_SECRET_CHARS = 8


@cache
def known_secrets() -> tuple[str, ...]:
    """The values of this deployment's secret settings, longest first (so that a secret
    containing another is hidden whole)."""
    if not settings.configured:
        return ()
    found: list[object] = []
    for name in dir(settings):
        if name.isupper() and _SECRET_SETTING.search(name):
            value = getattr(settings, name, None)
            found += value if isinstance(value, list | tuple) else [value]
    found += [database.get("PASSWORD") for database in settings.DATABASES.values()]
    secrets = {v for v in found if isinstance(v, str) and len(v) >= MIN_KNOWN_SECRET_CHARS}
    return tuple(sorted(secrets, key=len, reverse=True))


@receiver(setting_changed)
def _forget_known_secrets(**kwargs: Any) -> None:
    known_secrets.cache_clear()


def redact_text(text: str) -> str:
    """`text` with every known secret and everything shaped like one replaced."""
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
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


STREAM_HOLD_CHARS = 200


class StreamRedactor:
    """Redacts text that arrives in pieces (a model's streamed tokens), so that a secret split
    across two pieces is hidden as surely as a whole one.

    Each piece is not redacted alone: the text so far is, and what has not been sent yet is
    sent from that. The unfinished tail is held back until more comes (or the end): the word
    still arriving, and anything a pattern matched at the very end, which more text could
    extend ("Authorization: Token" before its credential). At most `hold` characters wait.
    """

    def __init__(self, *, hold: int = STREAM_HOLD_CHARS) -> None:
        self.hold = hold
        self._raw = ""
        self._cut = 0  # how much of the raw text has been sent (redacted)
        self._sent = ""  # the redacted text sent so far

    def feed(self, text: str, *, final: bool = False) -> str:
        """Take the next piece; return what may be sent now (redacted), maybe ''."""
        self._raw += text
        cut = len(self._raw) if final else self._safe_cut()
        if cut <= self._cut:
            return ""
        redacted = redact_text(self._raw[:cut])
        if redacted.startswith(self._sent):
            out = redacted[len(self._sent) :]
        else:
            # The new text changed how text already sent reads (a pattern reached back past
            # the cut). Never send a piece redacted without its context: resend from where
            # the two differ, which the final message replaces anyway.
            same = _common_prefix(redacted, self._sent)
            out = redacted[same:]
        self._cut, self._sent = cut, redacted
        return out

    def _safe_cut(self) -> int:
        raw = self._raw
        cut = _after_last_space(raw, len(raw))
        while cut > self._cut:
            head = raw[:cut]
            end = len(head.rstrip())
            starts = [
                match.start()
                for pattern, _ in _PATTERNS
                for match in pattern.finditer(head)
                if match.end() >= end
            ]
            if not starts:
                break
            cut = _after_last_space(raw, min(starts))
        return max(cut, self._cut, len(raw) - self.hold)


def _after_last_space(text: str, before: int) -> int:
    """The index just after the last whitespace in text[:before]; 0 when there is none."""
    for index in range(before - 1, -1, -1):
        if text[index].isspace():
            return index + 1
    return 0


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
