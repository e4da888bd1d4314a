"""The conditional-request cache: an answer's ETag and body, kept to revalidate with.

A GET answered with an ``ETag`` is kept; the next GET of the same URL sends that ETag in
``If-None-Match``, and GitHub's 304 (which costs no quota) is answered from here. The key
holds a digest of the token, so that one cache shared by clients with different tokens never
answers one token with what another was shown. Any object with `get` and `put` will do
(a Redis-backed one, say); the default is in-process and bounded by entries and bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

DEFAULT_MAX_ENTRIES = 1024
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class CachedAnswer:
    etag: str
    body: bytes
    # The headers a cached body still needs: its type and its pagination links.
    headers: dict[str, str] = field(default_factory=dict)


class ETagCache(Protocol):
    def get(self, key: str) -> CachedAnswer | None: ...

    def put(self, key: str, answer: CachedAnswer) -> None: ...


class MemoryETagCache:
    """Least recently used first out, past `max_entries` or `max_bytes` of bodies."""

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: str) -> CachedAnswer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
            return answer

    def put(self, key: str, answer: CachedAnswer) -> None:
        # One body larger than an eighth of the budget would flush the rest for one entry.
        if len(answer.body) > self.max_bytes // 8:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = answer
            self._bytes += len(answer.body)
            while self._entries and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)
