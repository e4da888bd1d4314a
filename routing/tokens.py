"""Token counts before a call: a typical estimate, and a bound no tokenizer passes.

A real tokenizer per model is not worth its weight here. `estimate_tokens` (about 3.5
characters a token) decides whether a prompt fits a model's context window. The budget
reserves the worst case instead, `max_prompt_tokens`: the byte-level tokenizers models use
never make more tokens than the text has UTF-8 bytes, plus a few per message; a part that is
not text (an image) counts as `NON_TEXT_PART_TOKENS`. The ledger records the provider's
real counts afterwards.
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


# More than any provider charges for one image in a message.
NON_TEXT_PART_TOKENS = 2000
# Chat templates wrap each message (role, delimiters) and each tool in a few tokens more.
WORST_TOKENS_PER_MESSAGE = 10
WORST_TOKENS_PER_TOOL = 20


def max_prompt_tokens(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> int:
    """The most tokens the prompt can be: its UTF-8 bytes, plus a few per message."""
    size = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            size += len(content.encode("utf-8", "replace"))
        elif isinstance(content, list):
            for part in content:
                text = part.get("text") if isinstance(part, dict) else None
                if isinstance(text, str):
                    size += len(text.encode("utf-8", "replace"))
                else:
                    size += NON_TEXT_PART_TOKENS
        elif content is not None:
            size += len(json.dumps(content).encode())
        for key in ("tool_calls", "name", "tool_call_id"):
            if message.get(key):
                size += len(json.dumps(message[key]).encode())
    if tools:
        size += len(json.dumps(tools).encode()) + WORST_TOKENS_PER_TOOL * len(tools)
    return size + WORST_TOKENS_PER_MESSAGE * len(messages)


def count_words(text: str) -> int:
    return len(text.split())
