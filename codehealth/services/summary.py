"""One repository at a glance: open findings by severity, the gate on new code, each
scanner's freshness, the latest and the running scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from codehealth.models import (
    SEVERITY_ORDER,
    Finding,
    FindingSeverity,
    Repository,
    Scan,
    ToolRun,
    ToolRunStatus,
)

# New code may not bring findings of these severities; low and info are reported only.
GATE_SEVERITIES = (FindingSeverity.CRITICAL, FindingSeverity.HIGH, FindingSeverity.MEDIUM)


@dataclass(frozen=True)
class ScannerFreshness:
    tool: str
    status: str
    version: str
    ran_at: datetime | None
    scan_id: int
    skip_reason: str
    error: str
    ruleset_changed: bool
    origin: str = "scanner"
    partial: str = ""  # why its last results may be incomplete
    source_url: str = ""


@dataclass
class RepositorySummary:
    repository: Repository
    latest_scan: Scan | None
    running_scan: Scan | None
    open_by_severity: dict[str, int] = field(default_factory=dict)
    new_code_by_severity: dict[str, int] = field(default_factory=dict)
    scanners: list[ScannerFreshness] = field(default_factory=list)

    @property
    def gate_blocking(self) -> int:
        return sum(self.new_code_by_severity.get(s, 0) for s in GATE_SEVERITIES)

    @property
    def gate_passed(self) -> bool | None:
        """None until the repository has been scanned."""
        if self.latest_scan is None:
            return None
        return self.gate_blocking == 0

    def severity_rows(self) -> list[tuple[str, int, int]]:
        return [
            (s, self.open_by_severity.get(s, 0), self.new_code_by_severity.get(s, 0))
            for s in SEVERITY_ORDER
        ]


def _by_severity(findings: QuerySet[Finding]) -> dict[str, int]:
    rows = findings.values_list("severity").annotate(n=Count("id")).order_by()
    return dict(rows)


def scanner_freshness(repository: Repository) -> list[ScannerFreshness]:
    """Each tool's most recent run in a finished scan of the repository."""
    runs = (
        ToolRun.objects.filter(scan__repository=repository, scan__finished_at__isnull=False)
        .select_related("scan")
        .order_by("tool", "-scan__finished_at", "-scan_id")
    )
    latest: dict[str, ToolRun] = {}
    for run in runs[:500]:
        latest.setdefault(run.tool, run)
    return [
        ScannerFreshness(
            tool=run.tool,
            status=run.status,
            version=run.version,
            ran_at=run.scan.finished_at if run.status != ToolRunStatus.SKIPPED else None,
            scan_id=run.scan_id,
            skip_reason=run.skip_reason,
            error=run.error,
            ruleset_changed=run.ruleset_changed,
            origin=run.origin,
            partial=run.partial,
            source_url=run.source_url,
        )
        for run in latest.values()
    ]


def repository_summary(repository: Repository, *, now: datetime | None = None) -> RepositorySummary:
    now = now or timezone.now()
    active = Finding.objects.filter(repository=repository).active(now)
    return RepositorySummary(
        repository=repository,
        latest_scan=Scan.objects.latest_done(repository),
        running_scan=Scan.objects.unfinished().filter(repository=repository).first(),
        open_by_severity=_by_severity(active),
        new_code_by_severity=_by_severity(active.filter(is_new=True)),
        scanners=scanner_freshness(repository),
    )
