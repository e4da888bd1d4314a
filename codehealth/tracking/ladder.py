"""Matching this scan's findings to the ones we know (SonarQube's ladder, after renames).

1. exact: the fingerprint, with the known finding's path carried through git's renames;
2. same tool, rule and file, same line hash (the line moved, its symbol changed);
3. same tool, rule and file, same message, within `NEAR_LINES` of where it was (the line
   itself was reformatted);
4. same tool, rule and line hash in another file, one on each side (code moved between
   files).

Only the exact rung brings back a fixed finding (it reopens); the others match findings
still alive. Each finding on either side is matched at most once.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from codehealth.normal_form import RawFinding
from codehealth.tracking.anchors import squeeze
from codehealth.tracking.fingerprints import fingerprint

NEAR_LINES = 25


class Rung(enum.StrEnum):
    EXACT = "exact"
    LINE_HASH = "line_hash"
    NEARBY_MESSAGE = "nearby_message"
    MOVED_FILE = "moved_file"


@dataclass(frozen=True)
class Known:
    id: int
    fingerprint: str
    tool: str
    rule: str
    path: str
    anchor: str
    line_hash: str
    occurrence: int
    line: int | None
    message: str
    fixed: bool


@dataclass(frozen=True)
class Match:
    index: int  # into the current findings
    known_id: int
    rung: Rung


class _Ladder:
    def __init__(
        self, known: list[Known], current: list[RawFinding], renames: dict[str, str]
    ) -> None:
        self.known = known
        self.current = current
        self.paths = {k.id: renames.get(k.path, k.path) for k in known}
        self.matched_known: set[int] = set()
        self.matched_current: set[int] = set()
        self.matches: list[Match] = []

    def take(self, index: int, known: Known, rung: Rung) -> None:
        self.matches.append(Match(index, known.id, rung))
        self.matched_known.add(known.id)
        self.matched_current.add(index)

    def exact(self) -> None:
        # Under its own fingerprint and, when git says its file moved, under the one it
        # would have at the new path.
        by_print: dict[str, Known] = {}
        for known in self.known:
            keys = [known.fingerprint]
            path = self.paths[known.id]
            if path != known.path:
                keys.append(
                    fingerprint(known.tool, known.rule, path, known.anchor, known.occurrence)
                )
            for key in keys:
                if key not in by_print or by_print[key].fixed:
                    by_print[key] = known
        for index, finding in enumerate(self.current):
            found = by_print.get(finding.fingerprint)
            if found is not None and found.id not in self.matched_known:
                self.take(index, found, Rung.EXACT)

    def _open_known(self) -> list[Known]:
        return [k for k in self.known if not k.fixed and k.id not in self.matched_known]

    def _open_current(self) -> list[tuple[int, RawFinding]]:
        return [(i, f) for i, f in enumerate(self.current) if i not in self.matched_current]

    def nearest(
        self,
        rung: Rung,
        key_known: Callable[[Known], Hashable | None],
        key_current: Callable[[RawFinding], Hashable | None],
        max_distance: int | None = None,
    ) -> None:
        """Pair findings with equal keys, closest lines first."""
        knowns: dict[Hashable, list[Known]] = defaultdict(list)
        for known in self._open_known():
            key = key_known(known)
            if key is not None:
                knowns[key].append(known)
        pairs: list[tuple[int, int, Known]] = []
        for index, finding in self._open_current():
            key = key_current(finding)
            for known in knowns.get(key, []) if key is not None else []:
                distance = abs((finding.line or 0) - (known.line or 0))
                if max_distance is None or distance <= max_distance:
                    pairs.append((distance, index, known))
        for _, index, known in sorted(pairs, key=lambda p: (p[0], p[1], p[2].id)):
            if index not in self.matched_current and known.id not in self.matched_known:
                self.take(index, known, rung)

    def moved_between_files(self) -> None:
        def key_known(k: Known) -> tuple[str, str, str]:
            return (k.tool, k.rule, k.line_hash or k.anchor)

        def key_current(f: RawFinding) -> tuple[str, str, str]:
            return (f.tool, f.rule, f.line_hash or f.anchor)

        knowns: dict[tuple[str, str, str], list[Known]] = defaultdict(list)
        for known in self._open_known():
            knowns[key_known(known)].append(known)
        currents: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for index, finding in self._open_current():
            currents[key_current(finding)].append(index)
        for key, indexes in currents.items():
            candidates = knowns.get(key, [])
            if len(indexes) == 1 and len(candidates) == 1:
                self.take(indexes[0], candidates[0], Rung.MOVED_FILE)


def match_findings(
    known: list[Known], current: list[RawFinding], renames: dict[str, str] | None = None
) -> list[Match]:
    ladder = _Ladder(known, current, renames or {})
    ladder.exact()
    ladder.nearest(
        Rung.LINE_HASH,
        lambda k: (k.tool, k.rule, ladder.paths[k.id], k.line_hash) if k.line_hash else None,
        lambda f: (f.tool, f.rule, f.path, f.line_hash) if f.line_hash else None,
    )
    ladder.nearest(
        Rung.NEARBY_MESSAGE,
        lambda k: (k.tool, k.rule, ladder.paths[k.id], squeeze(k.message)),
        lambda f: (f.tool, f.rule, f.path, squeeze(f.message)),
        max_distance=NEAR_LINES,
    )
    ladder.moved_between_files()
    return ladder.matches
