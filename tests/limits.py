"""Forgetting every counter of the limits cache (config/limits.py) between tests."""

from __future__ import annotations

from django.core.cache.backends.locmem import LocMemCache

from config.limits import limits_cache


def forget_limits() -> None:
    cache = limits_cache()
    if isinstance(cache, LocMemCache):
        cache.clear()
        return
    # Redis, shared with django-q2's broker: only this deployment's limit keys, never FLUSHDB.
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    pattern = cache.make_key("*")
    for key in client.scan_iter(match=pattern, count=1000):
        client.delete(key)
