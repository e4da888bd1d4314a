"""Token estimates for budget checks: deliberately rough and on the high side.

A real tokenizer per model is not worth its weight here: the estimate only decides whether a
call may start, and the ledger records the provider's real counts afterwards.
"""

from __future__ import annotations

import json
import math
from typing import Any

CHARS_PER_TOKEN = 3.5
TOKENS_PER_MESSAGE = 4


def estimate_tokens(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> int:
    chars = 0
    for message in messages:
        content = message.get("content")
        chars += len(content) if isinstance(content, str) else len(json.dumps(content or ""))
        if message.get("tool_calls"):
            chars += len(json.dumps(message["tool_calls"]))
    if tools:
        chars += len(json.dumps(tools))
    return math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * len(messages)


def count_words(text: str) -> int:
    return len(text.split())
