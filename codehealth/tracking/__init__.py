"""Finding identity, in plain Python: anchors, fingerprints and the matching ladder."""

from codehealth.tracking.anchors import SourceIndex, anchor_findings, line_hash, squeeze
from codehealth.tracking.fingerprints import assign_fingerprints, fingerprint
from codehealth.tracking.ladder import NEAR_LINES, Known, Match, Rung, match_findings

__all__ = [
    "NEAR_LINES",
    "Known",
    "Match",
    "Rung",
    "SourceIndex",
    "anchor_findings",
    "assign_fingerprints",
    "fingerprint",
    "line_hash",
    "match_findings",
    "squeeze",
]
