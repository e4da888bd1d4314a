"""The dependency audit at a glance: for each part (known vulnerabilities, versions behind,
declared against imported) the open findings with their source and age, or "no data"
with why. An audit that could not look must never read as a clean one."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from codehealth.dependencies.advisories import ADVISORY_TOOL
from codehealth.models import Finding, Repository, ToolRunStatus
from codehealth.services.summary import RepositorySummary, ScannerFreshness

PARTS = (
    (ADVISORY_TOOL, "Known vulnerabilities"),
    ("outdated", "Versions behind the newest release"),
    ("deptry", "Declared against imported (deptry)"),
)
# Host runs whose alerts feed a part: Dependabot's feed the known vulnerabilities.
FEEDS = {"dependabot": ADVISORY_TOOL}


@dataclass(frozen=True)
class DependencyPart:
    tool: str
    title: str
    open: int | None  # None: no data
    why: str = ""  # why there is no data, or why it may be incomplete
    sources: tuple[str, ...] = ()  # what the figure stands on, with its age


def _source(run: ScannerFreshness) -> str:
    when = f", {run.ran_at:%Y-%m-%d %H:%M} UTC" if run.ran_at else ""
    return f"{run.tool}: {run.version or 'ran'}{when}"


def dependency_parts(repository: Repository, summary: RepositorySummary) -> list[DependencyPart]:
    runs = {run.tool: run for run in summary.scanners}
    counts = dict(
        Finding.objects.active()
        .filter(repository=repository, tool__in=[tool for tool, _ in PARTS])
        .values_list("tool")
        .annotate(n=Count("id"))
        .order_by()
    )
    parts = []
    for tool, title in PARTS:
        looked = [runs[tool]] if tool in runs else []
        looked += [runs[h] for h, fed in FEEDS.items() if fed == tool and h in runs]
        ran = [r for r in looked if r.status == ToolRunStatus.OK]
        why = "; ".join(
            f"{r.tool}: {r.skip_reason or r.error or r.partial}"
            for r in looked
            if r.status != ToolRunStatus.OK or r.partial
        )
        if not ran:
            parts.append(DependencyPart(tool, title, None, why or "not scanned yet"))
            continue
        parts.append(
            DependencyPart(tool, title, counts.get(tool, 0), why, tuple(_source(r) for r in ran))
        )
    return parts
