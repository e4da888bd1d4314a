"""Known vulnerabilities in one shape, whichever source reported them.

Every advisory source (an imported OSV snapshot, a code host's Dependabot alerts) gives
`AdvisoryMatch` rows; `advisory_finding` makes each the one finding of tool ``advisories``
whose rule is the advisory's canonical id (its GHSA id when it has one, else its CVE,
else its own id) and whose anchor is ``package + advisory id``. The same advisory about
the same package from two sources has the same identity, and `merge_advisories` folds
the two into one finding that names both sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from codehealth.models import FindingKind, FindingSeverity
from codehealth.normal_form import RawFinding

ADVISORY_TOOL = "advisories"
_SEVERITY = {
    "critical": FindingSeverity.CRITICAL,
    "high": FindingSeverity.HIGH,
    "moderate": FindingSeverity.MEDIUM,
    "medium": FindingSeverity.MEDIUM,
    "low": FindingSeverity.LOW,
}


def canonical_id(ids: Iterable[str]) -> str:
    """GHSA first (GitHub's and OSV's common key), then CVE, then the smallest id."""
    unique = sorted({i for i in ids if i})
    for prefix in ("GHSA-", "CVE-"):
        chosen = [i for i in unique if i.startswith(prefix)]
        if chosen:
            return chosen[0]
    return unique[0] if unique else "unknown-advisory"


def severity_of(text: str) -> str:
    return _SEVERITY.get(text.strip().lower(), FindingSeverity.MEDIUM)


@dataclass
class AdvisoryMatch:
    """One advisory about one package of the repository, from one source."""

    ecosystem: str
    package: str
    ids: tuple[str, ...]  # the advisory's id and its aliases
    summary: str
    severity: str  # FindingSeverity
    source: str  # "OSV snapshot of 2026-12-01", "Dependabot"
    version: str = ""  # the pinned or locked version found vulnerable
    vulnerable_range: str = ""
    fixed: list[str] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def advisory_id(self) -> str:
        return canonical_id(self.ids)


def _message(match: AdvisoryMatch, sources: list[str]) -> str:
    where = match.version or match.vulnerable_range or "some version"
    fix = f"fixed in {', '.join(match.fixed)}" if match.fixed else "no fixed version yet"
    manifests = f" in {', '.join(match.manifests)}" if match.manifests else ""
    return (
        f"{match.package} {where} ({match.ecosystem}){manifests}: {match.summary or 'vulnerable'}"
        f"; {fix} (source: {'; '.join(sources)})"
    )


def advisory_finding(match: AdvisoryMatch) -> RawFinding:
    advisory = match.advisory_id
    url = match.url or f"https://osv.dev/vulnerability/{advisory}"
    return RawFinding(
        tool=ADVISORY_TOOL,
        rule=advisory[:200],
        kind=FindingKind.DEPENDENCY,
        severity=match.severity,
        message=_message(match, [match.source]),
        anchor=f"{match.package} {advisory}",
        symbol=match.package[:500],
        help_url=url,
        sources=[match.source],
        fix={"versions": match.fixed} if match.fixed else None,
    )


def group_matches(matches: list[AdvisoryMatch]) -> list[AdvisoryMatch]:
    """One match per advisory and package: records that alias each other (a PYSEC record
    and its GHSA twin) are one advisory, their ids and fixed versions joined."""
    out: list[AdvisoryMatch] = []
    for match in matches:
        for kept in out:
            if (kept.ecosystem, kept.package) == (match.ecosystem, match.package) and set(
                kept.ids
            ) & set(match.ids):
                kept.ids = tuple(sorted(set(kept.ids) | set(match.ids)))
                kept.fixed = sorted(set(kept.fixed) | set(match.fixed))
                kept.summary = kept.summary or match.summary
                if _rank(match.severity) < _rank(kept.severity):
                    kept.severity = match.severity
                break
        else:
            out.append(match)
    return out


def _rank(severity: str) -> int:
    order = [s.value for s in FindingSeverity]
    return order.index(severity) if severity in order else len(order)


def merge_advisories(findings: list[RawFinding]) -> list[RawFinding]:
    """Fold findings of the advisory tool with one identity (from two sources) into one."""
    kept: dict[tuple[str, str], RawFinding] = {}
    out: list[RawFinding] = []
    for finding in findings:
        if finding.tool != ADVISORY_TOOL:
            out.append(finding)
            continue
        key = (finding.rule, finding.anchor)
        first = kept.get(key)
        if first is None:
            kept[key] = finding
            out.append(finding)
            continue
        added = [s for s in finding.sources if s not in first.sources]
        if added:
            first.sources += added
            head = first.message.rsplit(" (source: ", 1)[0]
            first.message = f"{head} (source: {'; '.join(first.sources)})"
        if _rank(finding.severity) < _rank(first.severity):
            first.severity = finding.severity
    return out
