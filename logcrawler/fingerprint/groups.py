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
# Words that say what happened rather than to what: two lines that differ in one of these
# are two events ("Powered On" / "Off", "worker 3 started" / "stopped", "is healthy" /
# "is degraded"), whereas any other single differing word is taken for a value ("queue
# emails is full" / "queue invoices is full", "new line C" / "new line D").
EVENT_WORDS = frozenset(
    str.split(
        """
    on off up down in out start started starting stop stopped stopping open opened opening
    close closed closing enable enabled enabling disable disabled disabling success
    succeeded successful successfully fail failed failing failure failures ok error errors
    warning true false yes no accept accepted accepting reject rejected rejecting allow
    allowed deny denied grant granted revoke revoked connect connected connecting disconnect
    disconnected reconnect reconnected create created creating delete deleted deleting add
    added adding remove removed removing update updated updating begin began beginning end
    ended ending finish finished finishing complete completed completing pass passed skip
    skipped healthy unhealthy degraded active inactive online offline valid invalid found
    missing available unavailable ready busy idle running paused pause resume resumed
    suspended attach attached detach detached mount mounted unmount unmounted lock locked
    unlock unlocked load loaded unload unloaded register registered unregister unregistered
    send sent receive received read write written hit miss full empty drained expired
    timeout timed retry retrying retried abort aborted cancel cancelled canceled refused
    reset restart restarted restarting shutdown boot booted login logout logged
    """
    )
)
_IDENTIFIER_SHAPE = re.compile(r"[./\\@]|\([^)]")
# One mismatching position per merge and one widening per group: a second differing word is
# far more often a different event than a second variable. A merge keeps at least two
# tokens in common ("leader elected: <*>"); one alone says nothing.
_MAX_MISMATCHES = 1
_MAX_WIDENINGS = 1
_MIN_SHARED_TOKENS = 2


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


_WORD_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _is_event_word(token: str) -> bool:
    """An event word, or a name made of one ("SCREEN_ON", "onWake", "link-down")."""
    core = token.strip(WRAPPING_PUNCTUATION).lower()
    if core in EVENT_WORDS:
        return True
    return any(part.lower() in EVENT_WORDS for part in _WORD_PARTS.findall(token))


def _plain_word_is_a_value(mine: str, theirs: str, previous: str, *, last: bool) -> bool:
    """Two plain words at one position: a value, unless either is an event word or they
    open a clause (the first word, or the first after a ``label:``, is what happened:
    "instruction address" / "data address", "en0: channel changed" / "BSSID changed")."""
    if _is_event_word(mine) or _is_event_word(theirs):
        return False
    if mine.strip(WRAPPING_PUNCTUATION) == theirs.strip(WRAPPING_PUNCTUATION):
        return False  # one word, punctuated differently: a different layout, not a value
    opens_clause = not previous or (previous.endswith(":") and not last)
    return not opens_clause


def _differ_in_an_event_word(mine: str, theirs: str) -> bool:
    """Whether two names are one name but for an event word ("SCREEN_ON" / "SCREEN_OFF",
    "link-up" / "link-down"), however value-like they look otherwise."""
    if WILDCARD in mine or WILDCARD in theirs:
        return False
    mine_parts = [part.lower() for part in _WORD_PARTS.findall(mine)]
    their_parts = [part.lower() for part in _WORD_PARTS.findall(theirs)]
    if len(mine_parts) != len(their_parts):
        return False
    differing = [(a, b) for a, b in zip(mine_parts, their_parts, strict=True) if a != b]
    return len(differing) == 1 and differing[0][0] in EVENT_WORDS and differing[0][1] in EVENT_WORDS


def mismatches(template: tuple[str, ...], key: tuple[str, ...]) -> int:
    """How many positions of ``key`` a merge would turn into wildcards, or -1 if it must not.

    A position may differ where one side looks like a value (has a wildcard in it, a path,
    a host, an address, a parenthesised argument), where the word before it introduces a
    value ("user", "for", ...), or where two plain words differ that are neither event
    words nor a clause's first word.
    """
    count = 0
    previous = ""
    end = len(template) - 1
    for index, (mine, theirs) in enumerate(zip(template, key, strict=True)):
        if mine != theirs and mine != WILDCARD:
            if theirs != WILDCARD and _differ_in_an_event_word(mine, theirs):
                return -1
            if theirs != WILDCARD and not (
                _looks_like_value(mine)
                or _looks_like_value(theirs)
                or previous.strip(WRAPPING_PUNCTUATION).lower() in _VALUE_INTRODUCERS
                or _plain_word_is_a_value(mine, theirs, previous, last=index == end)
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
