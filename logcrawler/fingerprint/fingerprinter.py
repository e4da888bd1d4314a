"""ErrorFingerprinter: assigns each log entry to a template group with a stable id.

Online and deterministic: a line's group is decided when it arrives, the group's id is a
hash of the key that created it, later lines only widen a group in place (its id stays),
and every key ever seen is remembered, so replaying lines never creates a group.
"""

from __future__ import annotations

from collections.abc import Iterable

from logcrawler.fingerprint.access import (
    METHOD_TOKENS,
    access_from_attributes,
    parse_access_line,
)
from logcrawler.fingerprint.groups import (
    KIND_HTTP,
    KIND_MESSAGE,
    KIND_TRACEBACK,
    FingerprintResult,
    GroupState,
    TemplateGroup,
    best_match,
    group_id,
)
from logcrawler.fingerprint.masking import TokenMasker
from logcrawler.fingerprint.parse import ParsedEntry
from logcrawler.fingerprint.stacktrace import TRACEBACK_HEADER, parse_traceback

_MESSAGE_CACHE_LIMIT = 100_000
# Masking treats the digits 1-9 alike (tests/logcrawler/test_masking.py holds it), so two
# messages that differ only in those digits have one key, and so one group: a message with
# its digits folded is a cache key that numbers which change every line ("took 38 ms",
# "took 41 ms") do not defeat. Only plain message groups are cached so: an access line's
# status code and a traceback's frames are read from the raw text.
# (On the UTF-8 bytes: bytes.translate is twenty times faster than str.translate.)
_FOLD_DIGITS = bytes.maketrans(b"23456789", b"11111111")


class _Scope:
    """The groups of one service: keys seen, and message groups by token count."""

    __slots__ = ("by_folded", "by_length", "by_message", "keys", "message_keys")

    def __init__(self) -> None:
        self.keys: dict[str, dict[tuple[str, ...], TemplateGroup]] = {
            KIND_MESSAGE: {},
            KIND_TRACEBACK: {},
            KIND_HTTP: {},
        }
        self.message_keys = self.keys[KIND_MESSAGE]
        self.by_length: dict[int, list[TemplateGroup]] = {}
        # Exact message -> group: a cache only (bounded), the keys above are the memory.
        self.by_message: dict[str, TemplateGroup] = {}
        # Message with its digits folded -> message group: a cache too (bounded).
        self.by_folded: dict[bytes, TemplateGroup] = {}


class ErrorFingerprinter:
    """Groups log entries into fingerprints; one configuration for every system.

    Not thread-safe: one instance per ingesting process (or a lock around it).

    ``fingerprint`` takes a parsed entry, ``fingerprint_message`` a bare message. Groups are
    scoped by service: the same template from two services is two fingerprints. ``snapshot``
    and ``from_snapshot`` carry the groups across restarts with the same ids.
    """

    def __init__(self) -> None:
        self._masker = TokenMasker()
        self._scopes: dict[str, _Scope] = {}
        self._groups: list[TemplateGroup] = []

    @property
    def groups(self) -> list[TemplateGroup]:
        """Every group, oldest first."""
        return list(self._groups)

    def fingerprint(self, entry: ParsedEntry) -> FingerprintResult:
        """The fingerprint of a parsed entry: its HTTP fields if it has them, else its message."""
        if entry.attributes:
            access = access_from_attributes(entry.attributes)
            if access is not None:
                scope = self._scope(entry.service)
                return self._exact(scope, KIND_HTTP, access.key, entry.service)
        return self.fingerprint_message(entry.message, service=entry.service)

    def fingerprint_message(self, message: str, *, service: str = "") -> FingerprintResult:
        """The fingerprint of one message (a traceback, an access line or any other text)."""
        scope = self._scopes.get(service) or self._scope(service)
        seen = scope.by_message
        group = seen.get(message)
        if group is not None:
            return group.unchanged
        folded = message.encode("utf-8", "surrogatepass").translate(_FOLD_DIGITS)
        group = scope.by_folded.get(folded)
        if group is not None:
            return group.unchanged
        if TRACEBACK_HEADER in message:
            result = self._traceback(scope, message, service)
        else:
            key = self._masker.tokens(message)
            group = scope.message_keys.get(key)
            plain = METHOD_TOKENS.isdisjoint(key)
            if group is not None and plain:
                result = group.unchanged
            else:
                result = self._new_key(scope, message, key, service)
            if plain and result.group.kind == KIND_MESSAGE:
                if len(scope.by_folded) >= _MESSAGE_CACHE_LIMIT:
                    scope.by_folded.clear()
                scope.by_folded[folded] = result.group
        if len(seen) >= _MESSAGE_CACHE_LIMIT:
            seen.clear()
        seen[message] = result.group
        return result

    def snapshot(self) -> list[GroupState]:
        """Every group with the keys it has seen, oldest first, for ``from_snapshot``."""
        return [group.state() for group in self._groups]

    @classmethod
    def from_snapshot(cls, states: Iterable[GroupState]) -> ErrorFingerprinter:
        """A fingerprinter that continues where the one that made ``states`` stopped."""
        fingerprinter = cls()
        for state in states:
            group = TemplateGroup(
                id=state.id,
                kind=state.kind,
                service=state.service,
                tokens=state.tokens,
                widened=state.widened,
            )
            scope = fingerprinter._scope(state.service)
            fingerprinter._add(scope, group)
            for key in state.keys:
                fingerprinter._remember(scope, state.kind, key, group)
        return fingerprinter

    def _scope(self, service: str) -> _Scope:
        scope = self._scopes.get(service)
        if scope is None:
            scope = self._scopes[service] = _Scope()
        return scope

    def _traceback(self, scope: _Scope, message: str, service: str) -> FingerprintResult:
        traceback = parse_traceback(message)
        if traceback is not None:
            return self._exact(scope, KIND_TRACEBACK, traceback.key, service)
        return self._new_key(scope, message, self._masker.tokens(message), service)

    def _new_key(
        self, scope: _Scope, message: str, key: tuple[str, ...], service: str
    ) -> FingerprintResult:
        if not METHOD_TOKENS.isdisjoint(key):
            access = parse_access_line(message)
            if access is not None:
                return self._exact(scope, KIND_HTTP, access.key, service)
        return self._message(scope, key, service)

    def _exact(
        self, scope: _Scope, kind: str, key: tuple[str, ...], service: str
    ) -> FingerprintResult:
        group = scope.keys[kind].get(key)
        if group is not None:
            return group.unchanged
        group = TemplateGroup(
            id=group_id(service=service, kind=kind, key=key), kind=kind, service=service, tokens=key
        )
        self._add(scope, group)
        self._remember(scope, kind, key, group)
        return FingerprintResult(group, True, False)

    def _message(self, scope: _Scope, key: tuple[str, ...], service: str) -> FingerprintResult:
        group = scope.message_keys.get(key)
        if group is not None:
            return group.unchanged
        candidates = scope.by_length.get(len(key), [])
        group, widening = best_match(candidates, key)
        if group is not None:
            if widening:
                group.widen(key)
            self._remember(scope, KIND_MESSAGE, key, group)
            return FingerprintResult(group, False, bool(widening))
        return self._exact(scope, KIND_MESSAGE, key, service)

    def _add(self, scope: _Scope, group: TemplateGroup) -> None:
        self._groups.append(group)
        if group.kind == KIND_MESSAGE:
            scope.by_length.setdefault(len(group.tokens), []).append(group)

    @staticmethod
    def _remember(scope: _Scope, kind: str, key: tuple[str, ...], group: TemplateGroup) -> None:
        scope.keys[kind][key] = group
        group.keys.append(key)
