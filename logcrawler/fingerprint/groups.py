"""Template groups and the rule that decides whether a new token sequence joins one.

A group's id is a hash of the key that created it, so the id never changes afterwards: a
later line that generalises the template widens the group in place and keeps its id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple

from logcrawler.fingerprint.masking import WILDCARD, WRAPPING_PUNCTUATION

KIND_MESSAGE = "message"
KIND_TRACEBACK = "traceback"
KIND_HTTP = "http"

# Words after which a plain word is a value ("for user alice", "Failed password for root").
_VALUE_INTRODUCERS = frozenset({"user", "for", "from", "by", "to"})
_IDENTIFIER_SHAPE = re.compile(r"[./\\@]|\([^)]")
# One mismatching position per merge and one widening per group: a second differing word is
# far more often a different event ("Powered On" / "Powered Off") than a second variable.
_MAX_MISMATCHES = 1
_MAX_WIDENINGS = 1
_MIN_SHARED_TOKENS = 3


def group_id(*, service: str, kind: str, key: tuple[str, ...]) -> str:
    """The stable id of the group that ``key`` creates: a hash, never a counter."""
    material = "\x1f".join((service, kind, *key))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


class FingerprintResult(NamedTuple):
    """What one entry was assigned to."""

    group: TemplateGroup
    is_new: bool
    template_changed: bool

    @property
    def id(self) -> str:
        return self.group.id

    @property
    def template(self) -> str:
        return self.group.template


@dataclass(frozen=True, slots=True)
class GroupState:
    """A group as stored between restarts: enough to rebuild it and its known keys."""

    id: str
    kind: str
    service: str
    tokens: tuple[str, ...]
    widened: int
    keys: tuple[tuple[str, ...], ...]

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "service": self.service,
            "tokens": list(self.tokens),
            "widened": self.widened,
            "keys": [list(key) for key in self.keys],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> GroupState:
        tokens = data["tokens"]
        keys = data["keys"]
        widened = data["widened"]
        if not isinstance(tokens, list) or not isinstance(keys, list):
            raise ValueError("tokens and keys must be lists")
        if not isinstance(widened, int):
            raise ValueError("widened must be an integer")
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            service=str(data["service"]),
            tokens=tuple(str(token) for token in tokens),
            widened=widened,
            keys=tuple(tuple(str(token) for token in key) for key in keys),
        )


class TemplateGroup:
    """One fingerprint: its id, its current template and the keys that led to it."""

    __slots__ = ("id", "keys", "kind", "literals", "service", "tokens", "unchanged", "widened")

    def __init__(
        self, *, id: str, kind: str, service: str, tokens: tuple[str, ...], widened: int = 0
    ) -> None:
        self.id = id
        self.kind = kind
        self.service = service
        self.tokens = tokens
        self.literals = frozenset(tokens) - {WILDCARD}
        self.widened = widened
        self.keys: list[tuple[str, ...]] = []
        self.unchanged = FingerprintResult(self, False, False)

    @property
    def template(self) -> str:
        return " ".join(self.tokens)

    def widen(self, key: tuple[str, ...]) -> None:
        """Turn every position where ``key`` differs into a wildcard; the id stays."""
        self.tokens = tuple(
            mine if mine == theirs else WILDCARD
            for mine, theirs in zip(self.tokens, key, strict=True)
        )
        self.literals = frozenset(self.tokens) - {WILDCARD}
        self.widened += 1

    def state(self) -> GroupState:
        return GroupState(
            id=self.id,
            kind=self.kind,
            service=self.service,
            tokens=self.tokens,
            widened=self.widened,
            keys=tuple(self.keys),
        )

    def __repr__(self) -> str:
        return f"TemplateGroup({self.id}, {self.template!r})"


def _looks_like_value(token: str) -> bool:
    core = token.strip(WRAPPING_PUNCTUATION)
    return not core or WILDCARD in core or _IDENTIFIER_SHAPE.search(core) is not None


def mismatches(template: tuple[str, ...], key: tuple[str, ...]) -> int:
    """How many positions of ``key`` a merge would turn into wildcards, or -1 if it must not.

    A position may differ only where one side looks like a value (has a wildcard in it, a
    path, a host, an address, a parenthesised argument) or where the word before it
    introduces a value ("user", "for", ...): two plain words that differ are two events.
    """
    count = 0
    previous = ""
    for mine, theirs in zip(template, key, strict=True):
        if mine != theirs and mine != WILDCARD:
            if not (
                theirs == WILDCARD
                or _looks_like_value(mine)
                or _looks_like_value(theirs)
                or previous.strip(WRAPPING_PUNCTUATION).lower() in _VALUE_INTRODUCERS
            ):
                return -1
            count += 1
            if count > _MAX_MISMATCHES:
                return -1
        previous = mine
    return count


def best_match(
    candidates: list[TemplateGroup], key: tuple[str, ...]
) -> tuple[TemplateGroup | None, int]:
    """The group ``key`` joins (fewest widened positions, oldest first) and the widening."""
    best: TemplateGroup | None = None
    best_count = _MAX_MISMATCHES + 1
    present = frozenset(key)
    for group in candidates:
        # Each template word missing from the key is at least one mismatching position.
        if len(group.literals - present) > _MAX_MISMATCHES:
            continue
        count = mismatches(group.tokens, key)
        if 0 <= count < best_count:
            best, best_count = group, count
            if count == 0:
                break
    if best is None:
        return None, 0
    if best_count and (
        best.widened >= _MAX_WIDENINGS or len(key) - best_count < _MIN_SHARED_TOKENS
    ):
        return None, 0
    return best, best_count
