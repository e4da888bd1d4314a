"""A scan's results against the findings we know: matched, created, reopened, fixed.

Only the tools that ran cleanly in this scan count: a finding whose tool failed or was
skipped is neither seen nor fixed, and one whose tool's results were partial (capped) is
seen when it is there but not fixed when it is not. Everything is written in one
transaction.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from codehealth.models import (
    ALIVE_STATES,
    Finding,
    FindingEvent,
    FindingOccurrence,
    FindingState,
    Repository,
    Scan,
)
from codehealth.normal_form import RawFinding
from codehealth.repositories import CodeHost
from codehealth.tracking import Known, fingerprint, match_findings
from engine.models import Task
from engine.services import EngineError, cancel_task
from engine.services.history import system_actor

SCAN_ACTOR = system_actor("codehealth-scan")
# Fields a scan refreshes on a finding it sees again.
SEEN_FIELDS = [
    "fingerprint",
    "path",
    "line",
    "end_line",
    "column",
    "symbol",
    "anchor",
    "line_hash",
    "occurrence",
    "message",
    "severity",
    "help_url",
    "fix_applicability",
    "confidence",
    "evidence",
    "last_seen_scan",
    "state",
    "state_reason",
    "state_changed_at",
    "state_changed_by",
    "accepted_until",
    "fixed_in_scan",
    "updated_at",
]


@dataclass
class Outcome:
    """What a scan changed, for its counts: each list holds findings after the change."""

    created: list[Finding] = field(default_factory=list)
    reopened: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    seen: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        def by_severity(findings: list[Finding]) -> dict[str, int]:
            return dict(Counter(f.severity for f in findings))

        active = [f for f in self.seen if f.state in (FindingState.OPEN, FindingState.REOPENED)]
        return {
            "new": by_severity([f for f in self.created if not f.from_ruleset_change]),
            "ruleset": by_severity([f for f in self.created if f.from_ruleset_change]),
            "reopened": by_severity(self.reopened),
            "fixed": by_severity(self.fixed),
            "open": by_severity(active),
            # The trend chart's kind tabs: open findings by kind (not by severity).
            "open_by_kind": dict(Counter(f.kind for f in active)),
            "new_code": by_severity([f for f in active if f.is_new]),
            "accepted": by_severity([f for f in self.seen if f.state == FindingState.ACCEPTED]),
            "false_positive": by_severity(
                [f for f in self.seen if f.state == FindingState.FALSE_POSITIVE]
            ),
        }


def _known(findings: list[Finding]) -> list[Known]:
    return [
        Known(
            id=f.pk,
            fingerprint=f.fingerprint,
            tool=f.tool,
            rule=f.rule,
            path=f.path,
            anchor=f.anchor,
            line_hash=f.line_hash,
            occurrence=f.occurrence,
            line=f.line,
            message=f.message,
            fixed=f.state == FindingState.FIXED,
        )
        for f in findings
    ]


def _see(finding: Finding, raw: RawFinding, scan: Scan) -> None:
    finding.fingerprint = raw.fingerprint
    finding.path = raw.path
    finding.line = raw.line
    finding.end_line = raw.end_line
    finding.column = raw.column
    finding.symbol = raw.symbol[:500]
    finding.anchor = raw.anchor
    finding.line_hash = raw.line_hash
    finding.occurrence = raw.occurrence
    finding.message = raw.message
    finding.severity = raw.severity
    finding.help_url = raw.help_url[:500]
    finding.fix_applicability = raw.fix_applicability
    finding.confidence = raw.confidence
    finding.evidence = raw.evidence
    finding.last_seen_scan = scan


def _new_finding(repository: Repository, raw: RawFinding, scan: Scan, ruleset: bool) -> Finding:
    finding = Finding(
        repository=repository,
        tool=raw.tool,
        rule=raw.rule,
        kind=raw.kind,
        first_seen_scan=scan,
        from_ruleset_change=ruleset,
    )
    _see(finding, raw, scan)
    return finding


def _change(
    finding: Finding, to_state: str, scan: Scan, note: str, events: list[FindingEvent]
) -> None:
    events.append(
        FindingEvent(
            finding=finding,
            scan=scan,
            from_state=finding.state,
            to_state=to_state,
            actor=SCAN_ACTOR,
            note=note,
        )
    )
    finding.state = to_state
    finding.state_changed_at = timezone.now()
    finding.state_changed_by = SCAN_ACTOR
    if to_state != FindingState.ACCEPTED:
        finding.accepted_until = None


def mark_new_code(host: CodeHost, *, commit: str, baseline: str, findings: list[Finding]) -> None:
    """`is_new` for findings on lines that came after the baseline (git blame)."""
    if not baseline or baseline == commit:
        return
    changed = host.changed_paths(baseline, commit)
    wanted: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.path in changed and finding.line:
            wanted[finding.path].append(finding)
    for path, on_path in wanted.items():
        blamed = host.blame(commit, path, [f.line for f in on_path if f.line], since=baseline)
        for finding in on_path:
            line = blamed.get(finding.line or 0)
            finding.is_new = line is not None and not line.before_since


def _close_task(finding: Finding, scan: Scan) -> None:
    if finding.task_id is None:
        return
    task = Task.objects.filter(pk=finding.task_id).only("state").first()
    if task is None or task.is_finished:
        return
    with contextlib.suppress(EngineError):  # it finished meanwhile
        cancel_task(
            task_id=task.pk,
            actor=SCAN_ACTOR,
            note=f"closed: its finding was fixed (scan #{scan.pk})",
        )


@transaction.atomic
def record_results(
    *,
    scan: Scan,
    host: CodeHost,
    results: list[RawFinding],
    clean_tools: set[str],
    ruleset_changed: set[str],
    renames: dict[str, str],
    partial_tools: set[str] | None = None,
) -> Outcome:
    """Match `results` (from the tools in `clean_tools`) to the repository's findings and
    write the consequences; returns what changed."""
    repository = scan.repository
    known = list(Finding.objects.filter(repository=repository, tool__in=clean_tools))
    by_id = {f.pk: f for f in known}
    matches = {m.index: by_id[m.known_id] for m in match_findings(_known(known), results, renames)}
    now = timezone.now()
    outcome = Outcome()
    events: list[FindingEvent] = []
    renamed: list[Finding] = []
    for index, raw in enumerate(results):
        finding = matches.get(index)
        if finding is None:
            continue
        if finding.fingerprint != raw.fingerprint:
            renamed.append(finding)
        _see(finding, raw, scan)
        if finding.state == FindingState.FIXED:
            _change(finding, FindingState.REOPENED, scan, "seen again", events)
            finding.fixed_in_scan = None
            outcome.reopened.append(finding)
        elif (
            finding.state == FindingState.ACCEPTED
            and finding.accepted_until
            and finding.accepted_until <= now
        ):
            _change(finding, FindingState.OPEN, scan, "acceptance expired", events)
        outcome.seen.append(finding)
    matched_ids = {f.pk for f in matches.values()}
    unsure = partial_tools or set()
    for finding in known:
        if finding.pk in matched_ids or finding.tool in unsure:
            continue
        if finding.state in ALIVE_STATES:
            _change(finding, FindingState.FIXED, scan, "gone from the scan", events)
            finding.fixed_in_scan = scan
            outcome.fixed.append(finding)
    # A finding may take a fingerprint another one gives up in this same scan: park the
    # changing ones first, so that no row ever holds another's fingerprint.
    for finding in renamed:
        Finding.objects.filter(pk=finding.pk).update(fingerprint=f"~{finding.pk}")
    changed = outcome.seen + outcome.fixed
    for finding in changed:
        finding.updated_at = now
    Finding.objects.bulk_update(changed, SEEN_FIELDS, batch_size=500)
    created = [
        _new_finding(repository, raw, scan, raw.tool in ruleset_changed)
        for index, raw in enumerate(results)
        if index not in matches
    ]
    mark_new_code(host, commit=scan.commit, baseline=scan.baseline, findings=created)
    Finding.objects.bulk_create(created, batch_size=500)
    outcome.created = created
    outcome.seen.extend(created)
    FindingEvent.objects.bulk_create(events, batch_size=500)
    _store_occurrences(scan, results, matches, created)
    for finding in outcome.fixed:
        _close_task(finding, scan)
    return outcome


def _store_occurrences(
    scan: Scan, results: list[RawFinding], matches: dict[int, Finding], created: list[Finding]
) -> None:
    new = iter(created)
    rows = []
    for index, raw in enumerate(results):
        finding = matches.get(index) or next(new)
        rows.append(
            FindingOccurrence(
                scan=scan,
                finding=finding,
                severity=raw.severity,
                path=raw.path,
                line=raw.line,
                end_line=raw.end_line,
                column=raw.column,
                symbol=raw.symbol[:500],
                anchor=raw.anchor,
                line_hash=raw.line_hash,
                occurrence=raw.occurrence,
                message=raw.message,
                help_url=raw.help_url[:500],
                fix=raw.fix,
                confidence=raw.confidence,
                evidence=raw.evidence,
            )
        )
    FindingOccurrence.objects.bulk_create(rows, batch_size=500)


def results_of(scan: Scan) -> list[RawFinding]:
    """The normal-form results a finished scan recorded (a reused scan's input)."""
    rows: Any = FindingOccurrence.objects.filter(scan=scan).select_related("finding")
    return [
        RawFinding(
            tool=row.finding.tool,
            rule=row.finding.rule,
            kind=row.finding.kind,
            severity=row.severity,
            message=row.message,
            path=row.path,
            line=row.line,
            column=row.column,
            end_line=row.end_line,
            anchor=row.anchor,
            symbol=row.symbol,
            help_url=row.help_url,
            fix=row.fix,
            evidence=row.evidence,
            confidence=row.confidence,
            line_hash=row.line_hash,
            occurrence=row.occurrence,
            fingerprint=_fingerprint_of(row),
        )
        for row in rows
    ]


def _fingerprint_of(row: FindingOccurrence) -> str:
    f = row.finding
    return fingerprint(f.tool, f.rule, row.path, row.anchor, row.occurrence)
