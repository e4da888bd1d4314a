"""The code-health page's context: a repository's summary, the trend of its open findings,
the tabs per kind, its filtered findings, the rules whose findings all have a safe fix, and
its auto-PRs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from codehealth.links import FindingAction, finding_actions
from codehealth.models import (
    SEVERITY_ORDER,
    AutoPR,
    Finding,
    FindingKind,
    FindingState,
    FixApplicability,
    Repository,
)
from codehealth.services.code import finding_line_url
from codehealth.services.dependency_audit import dependency_parts
from codehealth.services.findings import CURRENT, list_findings
from codehealth.services.summary import RepositorySummary, repository_summary
from codehealth.services.trend import open_trend, trend_chart

FINDINGS_PER_PAGE = 50
AUTOPRS_SHOWN = 10


@dataclass(frozen=True)
class FindingFilters:
    kind: str = ""
    severity: str = ""
    state: str = CURRENT
    new_only: bool = False
    q: str = ""
    tool: str = ""

    @classmethod
    def from_query(cls, query: Any) -> FindingFilters:
        def pick(name: str, allowed: list[str], default: str = "") -> str:
            value = str(query.get(name, default))
            return value if value in allowed else default

        return cls(
            kind=pick("kind", FindingKind.values),
            severity=pick("severity", SEVERITY_ORDER),
            state=pick("state", [CURRENT, "", *FindingState.values], CURRENT),
            new_only=query.get("new") == "1",
            q=str(query.get("q", ""))[:200],
            tool=str(query.get("tool", ""))[:50],
        )

    def query(self) -> str:
        """These filters as a query string (the first page); "all states" is ``state=``."""
        given = {"kind": self.kind, "severity": self.severity, "q": self.q}
        pairs = [(k, v) for k, v in given.items() if v]
        if self.state != CURRENT:
            pairs.append(("state", self.state))
        if self.new_only:
            pairs.append(("new", "1"))
        return "?" + urlencode(pairs)


@dataclass(frozen=True)
class KindTab:
    kind: str  # "" for every kind
    label: str
    active_findings: int
    href: str
    selected: bool


def kind_tabs(repository: Repository, filters: FindingFilters) -> list[KindTab]:
    """A tab per kind of finding with its open count; each keeps the other filters."""
    counts = dict(
        Finding.objects.filter(repository=repository)
        .active()
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    tabs = [("", "All kinds", sum(counts.values()))]
    tabs += [(value, str(label), counts.get(value, 0)) for value, label in FindingKind.choices]
    return [
        KindTab(kind, label, n, replace(filters, kind=kind).query(), filters.kind == kind)
        for kind, label, n in tabs
    ]


@dataclass(frozen=True)
class FixableRule:
    rule: str
    count: int


def fixable_rules(repository: Repository) -> list[FixableRule]:
    """ruff rules whose open findings all have a safe fix: candidates for an auto-PR."""
    rows = (
        Finding.objects.filter(repository=repository, tool="ruff")
        .exclude(state__in=[FindingState.FIXED, FindingState.FALSE_POSITIVE])
        .values("rule")
        .annotate(
            total=Count("id"),
            safe=Count("id", filter=Q(fix_applicability=FixApplicability.SAFE)),
        )
        .order_by("rule")
    )
    return [FixableRule(r["rule"], r["total"]) for r in rows if r["total"] == r["safe"]]


def findings_page(repository: Repository, filters: FindingFilters, number: str) -> Page[Finding]:
    findings = list_findings(
        repository=repository,
        kind=filters.kind,
        severity=filters.severity,
        state=filters.state,
        new_only=filters.new_only,
        query=filters.q,
        tool=filters.tool,
    ).select_related("task", "repository", "last_seen_scan")
    return Paginator(findings.order_by("path", "line", "id"), FINDINGS_PER_PAGE).get_page(number)


def finding_rows(
    findings: Page[Finding], user: Any
) -> list[tuple[Finding, str, list[FindingAction]]]:
    """Each finding of the page with where its line opens (GitHub, or the code view) and
    the actions apps above offer on it that this person may do."""
    return [
        (finding, finding_line_url(finding), finding_actions(finding, user)) for finding in findings
    ]


def repository_context(
    repository: Repository, *, filters: FindingFilters, page: str, user: Any
) -> dict[str, Any]:
    summary: RepositorySummary = repository_summary(repository)
    findings = findings_page(repository, filters, page)
    return {
        "repository": repository,
        "summary": summary,
        "filters": filters,
        "findings": findings,
        "finding_rows": finding_rows(findings, user),
        "dependency_parts": dependency_parts(repository, summary),
        "tools": sorted({run.tool for run in summary.scanners}),
        "fixable": fixable_rules(repository),
        "autoprs": list(AutoPR.objects.filter(repository=repository)[:AUTOPRS_SHOWN]),
        "kinds": FindingKind.choices,
        "kind_tabs": kind_tabs(repository, filters),
        "trend": trend_chart(open_trend(repository, kind=filters.kind)),
        "severities": SEVERITY_ORDER,
        "states": [(CURRENT, "Current"), *FindingState.choices, ("", "All")],
    }
