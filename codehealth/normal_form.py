"""The one shape every scanner writes its findings in, and what a code host reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawFinding:
    """A finding as a tool reported it, before it is matched to the findings we know.

    Code findings give a path and a line; the anchor is then computed from the code
    (`codehealth.tracking.anchors`). Findings about something else give their own anchor:
    ``package + advisory id`` for a dependency, ``method + path template`` for a route.
    """

    tool: str
    rule: str
    kind: str
    severity: str
    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    anchor: str = ""
    symbol: str = ""
    help_url: str = ""
    # The tool's fix: {"applicability": "safe"|"unsafe"|"display", "message", "edits"}.
    fix: dict[str, Any] | None = None
    # Why the tool believes it (stale code: each kind of evidence, the line's age), and how
    # sure it is: "high" only where two kinds of evidence agree; "" when the tool says not.
    evidence: list[str] = field(default_factory=list)
    confidence: str = ""
    # Where a dependency finding's data came from, with its age ("OSV snapshot of ...",
    # "Dependabot"): one advisory from two sources is one finding naming both.
    sources: list[str] = field(default_factory=list)
    # Filled in by tracking.
    line_hash: str = ""
    occurrence: int = 0
    fingerprint: str = field(default="", compare=False)

    @property
    def fix_applicability(self) -> str:
        """safe, unsafe, display (ruff says "displayonly") or "" when there is no fix."""
        given = str((self.fix or {}).get("applicability") or "").lower()
        return {"displayonly": "display", "display-only": "display"}.get(given, given)


@dataclass
class ReportedRun:
    """One tool's results as the code host reported them for a commit (a CI job's
    annotations, a SARIF file a workflow uploaded, the host's alerts): recorded as a tool
    run of the scan, its findings tracked like any scanner's."""

    tool: str
    version: str = ""
    findings: list[RawFinding] = field(default_factory=list)
    # Set when there is nothing to import, and why ("no access: ...", "in progress").
    skip_reason: str = ""
    # Set when the results may be incomplete (capped): unseen findings are then not fixed.
    partial: str = ""
    # Where a person reads the original (a check run, a workflow run, the alerts page).
    source_url: str = ""
    # Set when reading it failed: its findings are then neither seen nor fixed.
    error: str = ""
    # Set when its findings belong to one of our scanners' tools rather than to this run's
    # own (a host's Dependabot alerts feed ``advisories``: one advisory, one finding).
    feeds: str = ""


@dataclass
class HostReport:
    """Everything the code host reported about a commit, with what could not be read."""

    runs: list[ReportedRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
