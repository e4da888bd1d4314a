"""What a GitHub repository's own CI and alerts say about a commit, as scan results.

- **Check runs** of the commit (the latest of each name): each is a tool named after the
  check, its annotations the findings. GitHub Actions keeps at most 50 annotations a job:
  a job that reached them is *partial* (its unseen findings are not closed). Annotations on
  no file of the commit (a job's "Process completed with exit code 1") are not findings.
- **SARIF artifacts** of the commit's finished workflow runs: each SARIF run is a tool
  named after its driver, versioned by it.
- **Dependabot alerts** (tool ``dependabot``: a dependency finding per package and
  advisory) and **code-scanning alerts** (tool ``code-scanning``), when the token may read
  them; otherwise the tool is skipped with GitHub's words ("no access: ..."), never an
  empty result. Alerts are the branch's as of now: GitHub keeps them per branch.

A part that fails is recorded as that tool's failure, and the rest is still read.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from codehealth.dependencies.advisories import ADVISORY_TOOL, AdvisoryMatch, advisory_finding
from codehealth.dependencies.manifests import NPM, PYPI, normalise
from codehealth.github import (
    CheckRunAnnotations,
    CIResults,
    DependabotAlert,
    GitHubError,
    GitHubRepo,
    SarifRun,
    WorkflowRun,
)
from codehealth.models import FindingKind
from codehealth.normal_form import HostReport, RawFinding, ReportedRun

CHECKS_TOOL = "github-checks"
DEPENDABOT_TOOL = "dependabot"
CODE_SCANNING_TOOL = "code-scanning"
ANNOTATION_SEVERITY = {"failure": "high", "warning": "medium", "notice": "low"}
LEVEL_SEVERITY = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
# Dependabot's ecosystem names ("pip") as OSV's.
ECOSYSTEMS = {"pip": PYPI, "npm": NPM}
ALERT_SEVERITY = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
}


def repository_path(uri: str, files: set[str]) -> str | None:
    """A SARIF or annotation location as a path of the commit: relative, or absolute on
    the CI runner (``file:///home/runner/work/app/app/src/x.py``), matched by its end."""
    text = unquote(urlsplit(uri).path if uri.startswith("file:") else uri)
    while text.startswith(("./", "/")):
        text = text.removeprefix(".").removeprefix("/")
    if text in files:
        return text
    parts = [p for p in text.split("/") if p]
    for start in range(1, len(parts)):
        candidate = "/".join(parts[start:])
        if candidate in files:
            return candidate
    return None


def _check_run(item: CheckRunAnnotations, files: set[str], notes: list[str]) -> ReportedRun:
    run = item.check_run
    if run.status != "completed":
        return ReportedRun(
            tool=run.name,
            skip_reason=f"{run.status.replace('_', ' ')} on GitHub: no result yet",
            source_url=run.html_url,
        )
    findings = []
    for note in item.annotations:
        path = repository_path(note.path, files)
        if path is None:
            continue
        findings.append(
            RawFinding(
                tool=run.name,
                rule=(note.title or note.level or "annotation")[:200],
                kind=FindingKind.LINT,
                severity=ANNOTATION_SEVERITY.get(note.level, "medium"),
                message=note.message,
                path=path,
                line=note.start_line or None,
                end_line=note.end_line or None,
                help_url=run.html_url,
            )
        )
    if outside := len(item.annotations) - len(findings):
        notes.append(f"{run.name}: {outside} annotation(s) on no file of the commit not imported")
    return ReportedRun(
        tool=run.name,
        version=run.app_slug,
        findings=findings,
        partial=item.cap_reason if item.capped else "",
        source_url=run.html_url,
    )


def check_runs(ci: CIResults, files: set[str], notes: list[str]) -> list[ReportedRun]:
    latest: dict[str, CheckRunAnnotations] = {}
    for item in ci.check_runs:  # a re-run is a new check run of the same name
        kept = latest.get(item.check_run.name)
        if kept is None or item.check_run.id > kept.check_run.id:
            latest[item.check_run.name] = item
    return [_check_run(latest[name], files, notes) for name in sorted(latest)]


def _sarif_findings(run: SarifRun, files: set[str], url: str) -> tuple[list[RawFinding], int]:
    findings, outside = [], 0
    for result in run.results:
        path = repository_path(result.path, files) if result.path else None
        if path is None:
            outside += 1
            continue
        findings.append(
            RawFinding(
                tool=run.tool_name,
                rule=(result.rule_id or run.tool_name)[:200],
                kind=FindingKind.LINT,
                severity=LEVEL_SEVERITY.get(result.level, "medium"),
                message=result.message,
                path=path,
                line=result.start_line,
                end_line=result.end_line,
                help_url=url,
            )
        )
    return findings, outside


def sarif_uploads(
    repo: GitHubRepo, runs: Iterable[WorkflowRun], files: set[str], notes: list[str]
) -> list[ReportedRun]:
    by_tool: dict[str, ReportedRun] = {}
    seen: set[tuple[str, str, str, int | None, str]] = set()
    for workflow in runs:
        if workflow.status != "completed":
            notes.append(f"workflow run {workflow.name} #{workflow.id} is {workflow.status}")
            continue
        uploads = repo.sarif_artifacts(workflow.id)
        for skipped in uploads.skipped:
            notes.append(f"SARIF artifact {skipped.artifact.name}: {skipped.reason}")
        for upload in uploads.files:
            for sarif_run in upload.runs:
                tool = sarif_run.tool_name or upload.name
                reported = by_tool.setdefault(
                    tool,
                    ReportedRun(
                        tool=tool, version=sarif_run.tool_version, source_url=workflow.html_url
                    ),
                )
                found, outside = _sarif_findings(sarif_run, files, workflow.html_url)
                for finding in found:
                    key = (finding.rule, finding.path, finding.message, finding.line, tool)
                    if key not in seen:  # the same result uploaded by two runs
                        seen.add(key)
                        reported.findings.append(finding)
                if outside:
                    notes.append(f"{tool}: {outside} SARIF result(s) on no file of the commit")
    return [by_tool[tool] for tool in sorted(by_tool)]


def dependabot(repo: GitHubRepo, web: str) -> ReportedRun:
    url = f"{web}/security/dependabot"
    alerts = repo.dependabot_alerts()
    if not alerts.available:
        return ReportedRun(tool=DEPENDABOT_TOOL, skip_reason=alerts.reason, source_url=url)
    findings = [advisory_finding(dependabot_match(alert)) for alert in alerts.alerts]
    return ReportedRun(tool=DEPENDABOT_TOOL, findings=findings, source_url=url, feeds=ADVISORY_TOOL)


def dependabot_match(alert: DependabotAlert) -> AdvisoryMatch:
    """An alert as an advisory about a package: the same identity OSV's record of the same
    advisory has (``package + GHSA id``), so the two are one finding."""
    ecosystem = ECOSYSTEMS.get(alert.ecosystem.lower(), alert.ecosystem)
    return AdvisoryMatch(
        ecosystem=ecosystem,
        package=normalise(ecosystem, alert.package),
        ids=tuple(i for i in (alert.ghsa_id, alert.cve_id) if i) or (f"alert-{alert.number}",),
        summary=alert.summary,
        severity=ALERT_SEVERITY.get(alert.severity, "medium"),
        source="Dependabot (as of this scan)",
        vulnerable_range=alert.vulnerable_version_range,
        fixed=[alert.first_patched_version] if alert.first_patched_version else [],
        manifests=[alert.manifest_path] if alert.manifest_path else [],
        url=alert.html_url,
    )


def code_scanning(repo: GitHubRepo, branch: str, web: str) -> ReportedRun:
    url = f"{web}/security/code-scanning"
    alerts = repo.code_scanning_alerts(ref=f"refs/heads/{branch}" if branch else None)
    if not alerts.available:
        return ReportedRun(tool=CODE_SCANNING_TOOL, skip_reason=alerts.reason, source_url=url)
    if alerts.status == 404:
        return ReportedRun(
            tool=CODE_SCANNING_TOOL,
            skip_reason=f"code scanning has not analysed this repository ({alerts.reason})",
            source_url=url,
        )
    findings = [
        RawFinding(
            tool=CODE_SCANNING_TOOL,
            rule=alert.rule_id[:200],
            kind=FindingKind.LINT,
            severity=ALERT_SEVERITY.get(alert.security_severity or "")
            or LEVEL_SEVERITY.get(alert.rule_severity or "", "medium"),
            message=f"{alert.tool_name}: {alert.message or alert.description}",
            path=alert.path,
            line=alert.start_line,
            end_line=alert.end_line,
            help_url=alert.html_url,
        )
        for alert in alerts.alerts
    ]
    version = (alerts.alerts[0].tool_version or "") if alerts.alerts else ""
    return ReportedRun(tool=CODE_SCANNING_TOOL, version=version, findings=findings, source_url=url)


def report_commit(
    repo: GitHubRepo, *, commit: str, branch: str, files: set[str], web: str
) -> HostReport:
    """Everything GitHub reported about `commit`; `branch` picks the code-scanning alerts
    (blank: the default branch's)."""
    report = HostReport()
    try:
        ci = repo.ci_results(commit)
        report.runs += check_runs(ci, files, report.notes)
        report.runs += sarif_uploads(repo, ci.workflow_runs, files, report.notes)
    except GitHubError as exc:
        report.runs.append(ReportedRun(tool=CHECKS_TOOL, error=str(exc)))
    try:
        report.runs.append(dependabot(repo, web))
    except GitHubError as exc:
        report.runs.append(ReportedRun(tool=DEPENDABOT_TOOL, error=str(exc)))
    try:
        report.runs.append(code_scanning(repo, branch, web))
    except GitHubError as exc:
        report.runs.append(ReportedRun(tool=CODE_SCANNING_TOOL, error=str(exc)))
    return report
