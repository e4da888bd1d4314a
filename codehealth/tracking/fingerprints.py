"""Fingerprints: sha256 of (tool, rule, path, anchor, occurrence index)."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from codehealth.normal_form import RawFinding


def fingerprint(tool: str, rule: str, path: str, anchor: str, occurrence: int) -> str:
    key = "\0".join([tool, rule, path, anchor, str(occurrence)])
    return hashlib.sha256(key.encode()).hexdigest()


def assign_fingerprints(findings: list[RawFinding]) -> None:
    """Number identical (tool, rule, path, anchor) tuples in file order, then fingerprint
    each (in place). Two equal lines in one function stay two findings."""
    groups: dict[tuple[str, str, str, str], list[RawFinding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.tool, finding.rule, finding.path, finding.anchor)].append(finding)
    for (tool, rule, path, anchor), group in groups.items():
        group.sort(key=lambda f: (f.line or 0, f.column or 0, f.message))
        for index, finding in enumerate(group):
            finding.occurrence = index
            finding.fingerprint = fingerprint(tool, rule, path, anchor, index)
