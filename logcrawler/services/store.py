"""The process's fingerprinter and the stored groups it must agree with.

`ErrorFingerprinter` keeps its groups in memory and is not thread-safe: one per process,
used under a lock. The groups are stored on the fingerprint rows, and `FingerprinterState`
holds a version that every batch which changes a group increments. A batch locks that row
first (which serialises batches across processes); if the version is not the one this
process last wrote or read, another process (or a rolled-back batch) changed the groups,
and the fingerprinter is rebuilt from the rows, in creation order, with the same ids.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from logcrawler.fingerprint import ErrorFingerprinter, GroupState, TemplateGroup
from logcrawler.models import ErrorFingerprint, FingerprinterState


@dataclass
class _Persisted:
    """What the rows say of a group, to notice a group that changed in memory."""

    keys: int
    widened: int


@dataclass
class FingerprinterCache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    fingerprinter: ErrorFingerprinter | None = None
    epoch: str = ""
    version: int = -1
    persisted: dict[str, _Persisted] = field(default_factory=dict)
    group_count: int = 0

    def invalidate(self) -> None:
        self.fingerprinter = None
        self.version = -1
        self.persisted = {}
        self.group_count = 0

    def current(self, state: FingerprinterState) -> ErrorFingerprinter:
        """The fingerprinter, rebuilt from the rows unless it matches their version."""
        if (
            self.fingerprinter is not None
            and self.epoch == state.epoch
            and self.version == state.version
        ):
            return self.fingerprinter
        rows = (
            ErrorFingerprint.objects.exclude(group={})
            .order_by("group_order", "created_at", "id")
            .values_list("group", flat=True)
        )
        states = [GroupState.from_json(group) for group in rows]
        self.fingerprinter = ErrorFingerprinter.from_snapshot(states)
        self.epoch = state.epoch
        self.version = state.version
        self.persisted = {s.id: _Persisted(len(s.keys), s.widened) for s in states}
        self.group_count = len(states)
        return self.fingerprinter

    def changed(self, group: TemplateGroup) -> bool:
        known = self.persisted.get(group.id)
        return known is None or known.keys != len(group.keys) or known.widened != group.widened

    def mark_persisted(self, groups: list[TemplateGroup], *, version: int) -> None:
        for group in groups:
            self.persisted[group.id] = _Persisted(len(group.keys), group.widened)
        self.version = version


cache = FingerprinterCache()


def reset_fingerprinter_cache() -> None:
    """Forget the in-memory groups (tests; after restoring a database)."""
    with cache.lock:
        cache.invalidate()
