"""The one shape every scanner writes its findings in."""

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
    # Filled in by tracking.
    line_hash: str = ""
    occurrence: int = 0
    fingerprint: str = field(default="", compare=False)

    @property
    def fix_applicability(self) -> str:
        """safe, unsafe, display (ruff says "displayonly") or "" when there is no fix."""
        given = str((self.fix or {}).get("applicability") or "").lower()
        return {"displayonly": "display", "display-only": "display"}.get(given, given)
