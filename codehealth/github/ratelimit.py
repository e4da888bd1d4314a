"""GitHub's rate limits, read from an answer's headers, and how long to wait for them.

GitHub's own rules ("Rate limits for the REST API", "Best practices for using the REST API"):
a 403 or 429 with ``retry-after`` means wait that many seconds; else one with
``x-ratelimit-remaining: 0`` means wait until ``x-ratelimit-reset`` (epoch seconds); else a
secondary limit (its message says so) means wait at least a minute, longer each time it
repeats. A 403 that matches none of these is a permission error, not a limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from config.retry_after import retry_after_seconds

SECONDARY_FLOOR_SECONDS = 60.0
# GitHub's reset is a whole second; a request sent on the second itself may still be refused.
RESET_SLACK_SECONDS = 1.0
_SECONDARY_WORDS = ("secondary rate limit", "abuse detection")


@dataclass(frozen=True)
class RateLimitState:
    """The quota GitHub reported on its last answer."""

    limit: int
    remaining: int
    used: int
    reset: int  # epoch seconds
    resource: str


@dataclass(frozen=True)
class LimitHit:
    kind: Literal["primary", "secondary"]
    wait_seconds: float


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def state_from(headers: Mapping[str, str]) -> RateLimitState | None:
    limit = _int(headers.get("x-ratelimit-limit"))
    remaining = _int(headers.get("x-ratelimit-remaining"))
    reset = _int(headers.get("x-ratelimit-reset"))
    if limit is None or remaining is None or reset is None:
        return None
    return RateLimitState(
        limit=limit,
        remaining=remaining,
        used=_int(headers.get("x-ratelimit-used")) or max(limit - remaining, 0),
        reset=reset,
        resource=headers.get("x-ratelimit-resource", ""),
    )


def limit_hit(
    *, status: int, headers: Mapping[str, str], message: str, now: float, repeat: int
) -> LimitHit | None:
    """How long to wait before retrying this answer, or None when it is no rate limit.

    `repeat` counts the secondary limits already met for this request: each doubles the wait.
    """
    if status not in (403, 429):
        return None
    exhausted = headers.get("x-ratelimit-remaining") == "0"
    kind: Literal["primary", "secondary"] = "primary" if exhausted else "secondary"
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = retry_after_seconds(retry_after, now=datetime.fromtimestamp(now, UTC))
        if seconds is not None:
            return LimitHit(kind, seconds)
    if exhausted:
        reset = _int(headers.get("x-ratelimit-reset"))
        if reset is not None:
            return LimitHit("primary", max(reset - now, 0.0) + RESET_SLACK_SECONDS)
        return LimitHit("primary", SECONDARY_FLOOR_SECONDS * 2**repeat)
    if status == 429 or any(word in message.lower() for word in _SECONDARY_WORDS):
        return LimitHit("secondary", SECONDARY_FLOOR_SECONDS * 2**repeat)
    return None
