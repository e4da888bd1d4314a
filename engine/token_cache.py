"""The token check's memory: who a token belongs to, kept for a moment in the process.

Looking the owner up was a tenth of the gateway's latency budget on every call
(bench/gateway.py). A token or user saved in this process (revoked, deactivated, deleted)
clears it at once (signals connected in `EngineConfig.ready()`; `revoke_api_tokens` clears
it too, as its UPDATE sends no signal); a change made by another process (a management
command, another server) counts there within `API_TOKEN_CACHE_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

MAX_RECENT_OWNERS = 10_000


@dataclass(frozen=True)
class TokenOwner:
    user: Any
    token_id: int
    revoked: bool
    unused_since: bool  # its last use is before the moment asked about, or it has none


class RecentOwners:
    """Token owners looked up in the last `API_TOKEN_CACHE_SECONDS`, by token digest.

    `clear()` bumps a generation, so a lookup that was under way while a token changed does
    not put its stale answer back; a lock makes the generation check and the store one step
    for `clear()`, which may run on another thread. A change saved inside a transaction is
    cleared again when it commits: until then other connections still read the old row, and
    a lookup made in between would keep it."""

    def __init__(self) -> None:
        self._owners: dict[str, tuple[TokenOwner, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, digest: str) -> TokenOwner | None:
        entry = self._owners.get(digest)
        if entry is None or time.monotonic() - entry[1] >= settings.API_TOKEN_CACHE_SECONDS:
            return None
        return entry[0]

    def put(self, digest: str, owner: TokenOwner, *, generation: int) -> None:
        if settings.API_TOKEN_CACHE_SECONDS <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return  # a change landed while it was read: keep nothing stale
            if len(self._owners) >= MAX_RECENT_OWNERS:
                self._owners = {}
            self._owners[digest] = (owner, time.monotonic())

    @property
    def generation(self) -> int:
        return self._generation

    def clear(self, *args: Any, using: str | None = None, **kwargs: Any) -> None:
        """Forget every owner now, and again when the transaction under way commits (usable
        as a signal receiver)."""
        self._forget()
        if transaction.get_connection(using).in_atomic_block:
            transaction.on_commit(self._forget, using=using)

    def _forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._owners = {}


recent_owners = RecentOwners()
