"""Scans: started as an engine task (`codehealth.scan`) that a worker runs, with progress.

A scan resolves its commit, plans every registered scanner from the commit's files and
configuration, reuses an earlier scan of the same commit whose plans were the same (no
tool runs), or else extracts the commit and runs the scanners; it adds what the code host
itself reported about the commit (a GitHub repository's CI and alerts: read afresh even
when the scanners' results are reused); then it matches the results to the findings we
know and stores its counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from codehealth.dependencies.advisories import merge_advisories
from codehealth.errors import CodehealthError, ScanNotFound
from codehealth.models import (
    Finding,
    FindingKind,
    FindingState,
    Repository,
    Scan,
    ScanStatus,
    ToolRunOrigin,
    ToolRunStatus,
)
from codehealth.normal_form import RawFinding
from codehealth.processes import clean_environment
from codehealth.repositories import CodeHost, LocalGitRepository, open_repository
from codehealth.repositories.local import work_dir
from codehealth.scanners import Plan, ScanContext, Scanner, registered_scanners
from codehealth.scanners.vulture import stale_name
from codehealth.services.change_requests import host_open_changes
from codehealth.services.reported import tool_runs
from codehealth.services.tool_runs import (
    ToolOutcome,
    counts_seen,
    reported_outcome,
    reused_runs,
    seen_tools,
    store_tool_runs,
)
from codehealth.services.tracking import Outcome, record_results, results_of
from codehealth.tracking import SourceIndex, anchor_findings, assign_fingerprints
from engine.models import TaskSource
from engine.services import create_task
from engine.services.history import Actor

log = logging.getLogger(__name__)

SCAN_KIND = "codehealth.scan"
SCAN_TIMEOUT_SECONDS = 3600

StopCheck = Callable[[], None]


def _no_stop() -> None:
    return None


def _running_scan(repository: Repository) -> Scan | None:
    """The repository's scan still under way, if any. A scan whose task ended without
    finishing it (a worker that died, a timeout) is failed here, so it blocks no new one."""
    now = timezone.now()
    for scan in Scan.objects.unfinished().filter(repository=repository).select_related("task"):
        task = scan.task
        if task is not None and task.is_finished:
            reason = f"its task #{task.pk} ended {task.state} before the scan finished"
        elif task is None and now - scan.created_at > timedelta(seconds=SCAN_TIMEOUT_SECONDS):
            reason = "abandoned: it ran in a process that ended before it finished"
        else:
            return scan
        Scan.objects.filter(pk=scan.pk).update(
            status=ScanStatus.FAILED, error=reason, finished_at=now, phase="failed"
        )
    return None


@transaction.atomic
def start_scan(
    *, repository: Repository, ref: str = "", actor: Actor, created_by: User | None = None
) -> Scan:
    """Queue a scan of `ref` (default: the repository's default branch) for a worker.
    While one of this repository's scans is queued or running, that scan is returned."""
    running = _running_scan(repository)
    if running is not None:
        return running
    scan = Scan.objects.create(
        repository=repository, ref=ref or repository.default_branch, triggered_by=actor
    )
    created = create_task(
        title=f"Scan {repository.name} at {scan.ref}"[:200],
        kind=SCAN_KIND,
        payload={"scan": scan.pk},
        priority=40,
        dedupe_key=f"{SCAN_KIND}:{repository.pk}",
        timeout_seconds=SCAN_TIMEOUT_SECONDS,
        max_attempts=2,
        source=TaskSource.CODEHEALTH,
        source_ref=f"scan:{scan.pk}",
        created_by=created_by,
        actor=actor,
    )
    scan.task = created.task
    scan.save(update_fields=["task"])
    return scan


def scan_now(
    *, repository: Repository, ref: str = "", actor: Actor, check_stop: StopCheck = _no_stop
) -> Scan:
    """Scan in this process, now (the command, the benchmark): no engine task."""
    scan = Scan.objects.create(
        repository=repository, ref=ref or repository.default_branch, triggered_by=actor
    )
    return run_scan(scan_id=scan.pk, check_stop=check_stop)


def _progress(scan: Scan, percent: int, phase: str) -> None:
    scan.progress, scan.phase = percent, phase[:200]
    Scan.objects.filter(pk=scan.pk).update(progress=percent, phase=scan.phase)


def scan_context(repository: Repository, host: CodeHost, commit: str) -> ScanContext:
    memo: dict[str, bytes | None] = {}

    def read(path: str) -> bytes | None:
        if path not in memo:
            memo[path] = host.read_files(commit, [path]).get(path)
        return memo[path]

    return ScanContext(
        files=tuple(host.list_files(commit)),
        read=read,
        environment=clean_environment(repository.scan_environment or {}),
        cache_dir=work_dir("cache") / str(repository.pk),
        extend_select=tuple(repository.lint_extend_select or ()),
        work_tree=host.path if isinstance(host, LocalGitRepository) else None,
        blame=lambda path, lines: host.blame(commit, path, lines),
        stale_whitelist=stale_false_positives(repository),
    )


def stale_false_positives(repository: Repository) -> tuple[str, ...]:
    """The names people ruled false positives among stale-code findings: the stale
    scanner's whitelist from then on (a change of it is a rule-set change)."""
    messages = Finding.objects.filter(
        repository=repository, kind=FindingKind.STALE, state=FindingState.FALSE_POSITIVE
    ).values_list("message", flat=True)
    return tuple(sorted({name for m in messages if (name := stale_name(m))}))


def _reusable(repository: Repository, commit: str, plans: list[Plan]) -> Scan | None:
    """An earlier finished scan of this commit whose tools ran exactly as these would."""
    wanted = sorted(p.signature() for p in plans)
    earlier = (
        Scan.objects.done()
        .filter(repository=repository, commit=commit)
        .prefetch_related("tool_runs")
        .order_by("-finished_at", "-id")[:5]
    )
    for scan in earlier:
        # What the host reported is read afresh each time: CI may have finished since.
        runs = [r for r in scan.tool_runs.all() if r.origin == ToolRunOrigin.SCANNER]
        if any(run.status == ToolRunStatus.FAILED for run in runs):
            continue
        if sorted((r.tool, r.version, r.config_hash, r.skip_reason) for r in runs) == wanted:
            return scan
    return None


def _run_scanners(
    scan: Scan,
    host: CodeHost,
    context: ScanContext,
    plans: list[tuple[Scanner, Plan]],
    check_stop: StopCheck,
    reported: list[RawFinding],
    notes: list[str],
) -> tuple[list[RawFinding], list[ToolOutcome]]:
    """Run the scanners in a checkout; the results, with `reported` (the host's), anchored
    on the checkout and fingerprinted."""
    results: list[RawFinding] = []
    outcomes: list[ToolOutcome] = []
    runnable = [(s, p) for s, p in plans if not p.skipped]
    outcomes += [ToolOutcome(p, ToolRunStatus.SKIPPED) for _, p in plans if p.skipped]
    if not runnable:
        reported = merge_advisories(reported)
        _anchor_from_host(host, scan.commit, reported)
        return reported, outcomes
    _progress(scan, 10, f"extracting {scan.commit[:12]}")
    with host.checkout(scan.commit) as root:
        for number, (scanner, plan) in enumerate(runnable):
            check_stop()
            _progress(scan, 15 + 70 * number // len(runnable), f"running {scanner.name}")
            try:
                result = scanner.run(plan, root, context)
            except OSError as exc:
                outcomes.append(ToolOutcome(plan, ToolRunStatus.FAILED, error=str(exc)))
                continue
            status = ToolRunStatus.FAILED if result.error else ToolRunStatus.OK
            outcomes.append(
                ToolOutcome(
                    plan,
                    status,
                    result.exit_code,
                    result.duration_ms,
                    result.error,
                    len(result.findings),
                    partial=result.partial,
                )
            )
            notes += [f"{scanner.name}: {note}" for note in result.notes]
            if status == ToolRunStatus.OK:
                results += result.findings
        _progress(scan, 88, "anchoring findings")
        results = merge_advisories(results + reported)
        anchor_findings(results, SourceIndex(lambda path: _read_text(root, path)))
    assign_fingerprints(results)
    return results, outcomes


def _anchor_from_host(host: CodeHost, commit: str, findings: list[RawFinding]) -> None:
    """Anchor and fingerprint findings without a checkout: the files read from the host."""

    def read(path: str) -> str | None:
        content = host.read_files(commit, [path]).get(path)
        return content.decode(errors="replace") if content is not None else None

    anchor_findings(findings, SourceIndex(read))
    assign_fingerprints(findings)


def _read_text(root: Path, path: str) -> str | None:
    try:
        return (root / path).read_text(errors="replace")
    except (OSError, ValueError):
        return None


def _begin(scan_id: int) -> Scan:
    with transaction.atomic():
        scan = (
            Scan.objects.select_for_update().select_related("repository").filter(pk=scan_id).first()
        )
        if scan is None:
            raise ScanNotFound(f"scan {scan_id} does not exist")
        if scan.is_finished:
            return scan
        # A scan handed back by a stopping worker starts over.
        scan.tool_runs.all().delete()
        scan.occurrences.all().delete()
        scan.status = ScanStatus.RUNNING
        scan.started_at = timezone.now()
        scan.progress, scan.phase, scan.error = 1, "resolving the commit", ""
        scan.save(update_fields=["status", "started_at", "progress", "phase", "error"])
    return scan


def run_scan(*, scan_id: int, check_stop: StopCheck = _no_stop) -> Scan:
    """Run a queued scan to its end in this process; the finished scan (done or failed)."""
    scan = _begin(scan_id)
    if scan.is_finished:
        return scan
    try:
        _execute(scan, check_stop)
    except (CodehealthError, OSError) as exc:
        log.warning("scan %s of %s failed: %s", scan.pk, scan.repository.name, exc)
        scan.status = ScanStatus.FAILED
        scan.error = str(exc)[:5000]
        scan.finished_at = timezone.now()
        scan.phase = "failed"
        scan.save(update_fields=["status", "error", "finished_at", "phase"])
    else:
        _follow_pull_requests(scan.repository)
    return scan


def _follow_pull_requests(repository: Repository) -> None:
    """A scan talks to the host anyway: auto-PRs whose pull request a person merged or
    closed there follow now, not only at the next proposal. Never fails the scan."""
    try:
        host_open_changes(repository)
    except CodehealthError as exc:
        log.warning("could not follow %s's pull requests: %s", repository.name, exc)


def _execute(scan: Scan, check_stop: StopCheck) -> None:
    repository = scan.repository
    host = open_repository(repository)
    scan.commit = host.resolve(scan.ref or repository.default_branch)
    if not repository.baseline_commit:
        # Hold the line from the first scan on: what is there now is not new code.
        repository.baseline_commit = scan.commit
        repository.save(update_fields=["baseline_commit"])
    scan.baseline = repository.baseline_commit
    scan.save(update_fields=["commit", "baseline"])
    _progress(scan, 5, "planning the scanners")
    context = scan_context(repository, host, scan.commit)
    plans = [(scanner, scanner.plan(context)) for scanner in registered_scanners()]
    planned = {p.tool for _, p in plans}
    _progress(scan, 8, "reading what the code host reported")
    report = host.reported_results(scan.commit, ref=scan.ref)
    reported_runs = tool_runs(report.runs, reserved=planned)
    reported = [f for run in reported_runs if counts_seen(run) for f in run.findings]
    notes = list(report.notes)
    reused = _reusable(repository, scan.commit, [p for _, p in plans])
    if reused is not None:
        origin = reused.reused_from or reused
        # Only what our scanners found: a host's findings fed into a tool of ours
        # (Dependabot's into ``advisories``) are read afresh below.
        ran = {r.tool for r in reused.tool_runs.all() if r.status == ToolRunStatus.OK}
        results = [r for r in results_of(reused) if r.tool in planned and r.tool in ran]
        _anchor_from_host(host, scan.commit, reported)
        results = merge_advisories(results + reported)
        outcomes = [
            ToolOutcome(
                run_plan,
                status=run.status,
                exit_code=run.exit_code,
                findings=run.findings,
                partial=run.partial,  # an index unreachable then still closes nothing now
            )
            for run, run_plan in reused_runs(reused, [p for _, p in plans])
        ]
        scan.reused_from = origin
        # The scanners' own notes ("outdated: PyPI index unreachable ...") hold for the reuse.
        notes += [n for n in reused.notes if n.split(":", 1)[0] in planned]
    else:
        results, outcomes = _run_scanners(scan, host, context, plans, check_stop, reported, notes)
    scan.notes = notes[:200]
    outcomes += [reported_outcome(run) for run in reported_runs]
    _progress(scan, 92, "matching findings")
    previous = Scan.objects.latest_done(repository)
    renames: dict[str, str] = {}
    if previous is not None and previous.commit and previous.commit != scan.commit:
        renames = host.renames(previous.commit, scan.commit)
    with transaction.atomic():
        changed = store_tool_runs(scan, outcomes)
        clean, partial = seen_tools(outcomes, reported_runs)
        outcome: Outcome = record_results(
            scan=scan,
            host=host,
            results=[r for r in results if r.tool in clean],
            clean_tools=clean,
            partial_tools=partial,
            ruleset_changed=changed,
            renames=renames,
        )
        scan.counts = outcome.counts()
        scan.status = ScanStatus.DONE
        scan.progress, scan.phase = 100, "done"
        scan.finished_at = timezone.now()
        scan.save(
            update_fields=[
                "counts",
                "notes",
                "status",
                "progress",
                "phase",
                "finished_at",
                "reused_from",
            ]
        )
