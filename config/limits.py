"""Counting requests against a rate, in the "limits" cache (Redis when REDIS_URL is set, so
every process counts together): the one mechanism behind the API's throttles, the count of
failed API authentications per address and the sign-in limits (docs/security.md "Limits").

A rate is "N per period" over fixed windows aligned to the clock: one atomic increment per
event, whatever N is, where DRF's own throttles keep and rewrite a list of N timestamps. The
price is that a client may spend up to 2N across the boundary of two windows.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import BaseCache, caches
from django.http import HttpRequest

PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, rate: str) -> Rate:
        """DRF's notation: "300/minute", "5/s", "1000/day"."""
        count, _, period = rate.partition("/")
        return cls(count=int(count), seconds=PERIOD_SECONDS[period.strip()[:1]])


def limits_cache() -> BaseCache:
    return caches["limits"]


def _window(rate: Rate, now: float) -> tuple[int, float]:
    """The current window's number and the seconds until it ends."""
    number = int(now // rate.seconds)
    return number, (number + 1) * rate.seconds - now


def count(key: str, rate: Rate, *, now: float | None = None) -> int:
    """Count one event under `key` in the current window; the count so far, this one in."""
    now = time.time() if now is None else now
    number, _ = _window(rate, now)
    window_key = f"{key}:{number}"
    cache = limits_cache()
    cache.add(window_key, 0, timeout=rate.seconds + 1)
    try:
        return cache.incr(window_key)
    except ValueError:  # evicted or expired between add and incr: this is its first event
        cache.set(window_key, 1, timeout=rate.seconds + 1)
        return 1


def wait_after_counting(key: str, rate: Rate, *, now: float | None = None) -> float | None:
    """Count one event; None while within the rate, else the seconds until it is again."""
    now = time.time() if now is None else now
    if count(key, rate, now=now) <= rate.count:
        return None
    return _window(rate, now)[1]


def wait_if_spent(key: str, rate: Rate, *, now: float | None = None) -> float | None:
    """Without counting: the seconds until `key` is within its rate again, or None if it is."""
    now = time.time() if now is None else now
    number, remaining = _window(rate, now)
    spent = limits_cache().get(f"{key}:{number}", 0)
    return remaining if spent >= rate.count else None


def retry_after(wait: float) -> str:
    """A Retry-After value: whole seconds, never 0 (0 invites an immediate retry)."""
    return str(max(1, math.ceil(wait)))


def client_address(request: HttpRequest) -> str:
    """The client's address. REMOTE_ADDR only: behind a reverse proxy Daphne's
    --proxy-headers puts the client's address there (docs/security.md), and any
    X-Forwarded-For that reaches the application could have been written by the client."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def hashed(value: str) -> str:
    """A fixed-length key part for a value the client chose (a username)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
