"""A scan's tool runs: what each scanner (or each tool the code host reported on) did,
stored with whether its rule set changed since its last clean run."""

from __future__ import annotations

from dataclasses import dataclass

from codehealth.models import Repository, Scan, ScanStatus, ToolRun, ToolRunOrigin, ToolRunStatus
from codehealth.normal_form import ReportedRun
from codehealth.scanners import Plan


@dataclass
class ToolOutcome:
    plan: Plan
    status: str
    exit_code: int | None = None
    duration_ms: int = 0
    error: str = ""
    findings: int = 0
    origin: str = ToolRunOrigin.SCANNER
    partial: str = ""
    source_url: str = ""


def reported_outcome(run: ReportedRun) -> ToolOutcome:
    plan = Plan(tool=run.tool, version=run.version[:100], skip_reason=run.skip_reason)
    status = (
        ToolRunStatus.FAILED
        if run.error
        else ToolRunStatus.SKIPPED
        if run.skip_reason
        else ToolRunStatus.OK
    )
    return ToolOutcome(
        plan,
        status,
        error=run.error,
        findings=len(run.findings) if status == ToolRunStatus.OK else 0,
        origin=ToolRunOrigin.HOST,
        partial=run.partial if status == ToolRunStatus.OK else "",
        source_url=run.source_url[:500],
    )


def _previous_runs(repository: Repository, scan: Scan) -> dict[str, ToolRun]:
    """Each tool's last clean run in this repository's scans before this one."""
    runs = (
        ToolRun.objects.filter(
            scan__repository=repository,
            scan__status=ScanStatus.DONE,
            status=ToolRunStatus.OK,
        )
        .exclude(scan=scan)
        .order_by("tool", "-scan__finished_at", "-scan_id")
    )
    latest: dict[str, ToolRun] = {}
    for run in runs:
        latest.setdefault(run.tool, run)
    return latest


def store_tool_runs(scan: Scan, outcomes: list[ToolOutcome]) -> set[str]:
    """The ToolRun rows; returns the tools whose rule set changed since their last run."""
    had_scans = Scan.objects.done().filter(repository=scan.repository).exclude(pk=scan.pk)
    previous = _previous_runs(scan.repository, scan)
    changed: set[str] = set()
    rows = []
    for outcome in outcomes:
        plan = outcome.plan
        before = previous.get(plan.tool)
        row = ToolRun(
            scan=scan,
            tool=plan.tool,
            version=plan.version,
            config_hash=plan.config_hash,
            status=outcome.status,
            exit_code=outcome.exit_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error[:5000],
            skip_reason=plan.skip_reason[:500],
            findings=outcome.findings,
            origin=outcome.origin,
            partial=outcome.partial,
            source_url=outcome.source_url,
        )
        if outcome.status == ToolRunStatus.OK:
            if before is not None:
                row.previous_version = before.version
                row.previous_config_hash = before.config_hash
                row.ruleset_changed = (before.version, before.config_hash) != (
                    plan.version,
                    plan.config_hash,
                )
            else:
                # A tool that starts running on a repository already scanned (a new
                # configuration, a tool installed) changes the rule set too.
                row.ruleset_changed = had_scans.exists()
            if row.ruleset_changed:
                changed.add(plan.tool)
        rows.append(row)
    ToolRun.objects.bulk_create(rows)
    return changed


def counts_seen(run: ReportedRun) -> bool:
    """A reported run whose findings are seen: neither failed nor skipped."""
    return not run.error and not run.skip_reason


def reused_runs(scan: Scan, plans: list[Plan]) -> list[tuple[ToolRun, Plan]]:
    by_tool = {p.tool: p for p in plans}
    return [(run, by_tool[run.tool]) for run in scan.tool_runs.all() if run.tool in by_tool]


def seen_tools(
    outcomes: list[ToolOutcome], reported: list[ReportedRun]
) -> tuple[set[str], set[str]]:
    """The tools whose findings this scan saw (clean), and those among them whose unseen
    findings must stay as they were (partial).

    A host's run that feeds one of our tools (Dependabot feeding ``advisories``) makes that
    tool seen when it was read, and unsure when it could not be: an alert nobody could read
    is not a fixed one. A feeding tool of ours skipped for want of data (no OSV snapshot)
    leaves what the host said standing on its own.
    """
    clean = {o.plan.tool for o in outcomes if o.status == ToolRunStatus.OK}
    partial = {o.plan.tool for o in outcomes if o.partial}
    failed = {o.plan.tool for o in outcomes if o.status == ToolRunStatus.FAILED}
    for run in reported:
        if not run.feeds:
            continue
        if counts_seen(run):
            clean.add(run.feeds)
            if run.feeds in failed:
                partial.add(run.feeds)
        elif run.feeds in clean:
            partial.add(run.feeds)
    return clean, partial
