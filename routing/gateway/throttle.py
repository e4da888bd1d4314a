"""Rate limits of the gateway: per API token, and per policy (all callers of one mode).

Rates are written as DRF writes them (`600/min`: a number, then s, sec, m, min, h, hour, d
or day), in `GATEWAY_TOKEN_THROTTLE_RATE` and `GATEWAY_POLICY_THROTTLE_RATE`; empty turns
one off. They are counted by the project's one counter (`config.limits`: fixed windows in
the "limits" cache, shared by every process when Redis is configured), as the API's
throttles and the sign-in limits are. A call over a limit is a 429 in OpenAI's error shape
with `Retry-After`, the seconds until its window ends.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from typing import Any

from django.conf import settings

from config.limits import Rate, wait_after_counting
from routing.errors import RoutingError

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
KEY_PREFIX = "gateway"


class Throttled(RoutingError):
    status_code = 429
    code = "rate_limit_exceeded"
    error_type = "requests"  # as OpenAI types a limit on requests

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@lru_cache(maxsize=16)
def parse_rate(text: str) -> Rate | None:
    """`600/min` -> 600 per 60 s; '' -> None (no limit). A malformed rate is a ValueError
    (the system check routing.E004 reports it at start)."""
    text = text.strip()
    if not text:
        return None
    count, _, period = text.partition("/")
    unit = period.strip().lower()[:1]
    if not count.strip().isdigit() or unit not in PERIODS:
        raise ValueError(f"{text!r} is not a rate: write it as 600/min (s, min, hour or day)")
    return Rate(count=int(count), seconds=PERIODS[unit])


def _describe(rate: Rate) -> str:
    return f"{rate.count} per {rate.seconds} s"


def _caller_key(user: Any, token: Any) -> str:
    if isinstance(token, str) and token:
        # The token itself, never stored: a digest of it.
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return f"user:{getattr(user, 'pk', None)}"


def check_caller(*, user: Any, token: Any) -> None:
    """The caller's token (or, signed in without one, the user) has a request left."""
    rate = parse_rate(settings.GATEWAY_TOKEN_THROTTLE_RATE)
    if rate is None:
        return
    wait = wait_after_counting(f"{KEY_PREFIX}:{_caller_key(user, token)}", rate)
    if wait is not None:
        raise Throttled(
            f"This API token sent more than {_describe(rate)} to the gateway "
            f"(GATEWAY_TOKEN_THROTTLE_RATE); retry in {math.ceil(wait)} s.",
            retry_after=wait,
        )


def check_policy(*, mode: str) -> None:
    """The mode's policy, all callers together, has a request left."""
    rate = parse_rate(settings.GATEWAY_POLICY_THROTTLE_RATE)
    if rate is None:
        return
    wait = wait_after_counting(f"{KEY_PREFIX}:policy:{mode}", rate)
    if wait is not None:
        raise Throttled(
            f"The {mode} policy took more than {_describe(rate)} through the gateway from all "
            f"callers (GATEWAY_POLICY_THROTTLE_RATE); retry in {math.ceil(wait)} s.",
            retry_after=wait,
        )
