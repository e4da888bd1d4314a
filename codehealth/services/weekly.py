"""The weekly report: one repository's week (Monday 00:00 UTC to the next Monday) as figures
and sections, stored as a `WeeklyReport` and rendered as Markdown by `weekly_markdown`.

What the week counts comes from the rows the scans left: a finding is new in the week when
the scan that first saw it finished in it (rule-set changes apart), fixed or reopened when a
scan moved it so in it; "open" is what the week's last scan counted. Writing a week again
replaces its report, so the schedule and the command may both write it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from codehealth.models import (
    SEVERITY_ORDER,
    AutoPR,
    AutoPRState,
    Finding,
    FindingEvent,
    FindingKind,
    FindingState,
    Repository,
    Scan,
    ToolRun,
    ToolRunOrigin,
    ToolRunStatus,
    WeeklyReport,
)
from engine.services.history import Actor

TREND_WEEKS = 8
TOP_RULES = 10
ITEMS_LISTED = 25
EXPIRY_HORIZON = timedelta(days=14)


def week_start_of(moment: datetime | date) -> date:
    """The Monday (UTC) of the week `moment` falls in."""
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    starts = datetime.combine(week_start, time.min, tzinfo=UTC)
    return starts, starts + timedelta(days=7)


def last_complete_week(now: datetime | None = None) -> date:
    return week_start_of(now or timezone.now()) - timedelta(days=7)


def _by_kind_and_severity(rows: Any) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        table[row["kind"]][row["severity"]] = row["n"]
    return {kind: table[kind] for kind in FindingKind.values if kind in table}


def _grouped(findings: Any) -> dict[str, dict[str, int]]:
    return _by_kind_and_severity(
        findings.values("kind", "severity").annotate(n=Count("id", distinct=True)).order_by()
    )


def _total(table: dict[str, dict[str, int]]) -> int:
    return sum(n for by_severity in table.values() for n in by_severity.values())


def _last_scan_before(repository: Repository, moment: datetime) -> Scan | None:
    return (
        Scan.objects.done()
        .filter(repository=repository, finished_at__lt=moment)
        .order_by("-finished_at", "-id")
        .first()
    )


def _open_at(repository: Repository, moment: datetime) -> int | None:
    scan = _last_scan_before(repository, moment)
    return None if scan is None else scan.count("open")


def _finding_item(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.pk,
        "tool": finding.tool,
        "rule": finding.rule,
        "kind": finding.kind,
        "severity": finding.severity,
        "path": finding.path,
        "line": finding.line,
        "symbol": finding.symbol,
        "message": finding.message[:500],
        "is_new_code": finding.is_new,
    }


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


@dataclass(frozen=True)
class Week:
    repository: Repository
    starts_at: datetime
    ends_at: datetime

    def scans(self) -> Any:
        return Scan.objects.done().filter(
            repository=self.repository,
            finished_at__gte=self.starts_at,
            finished_at__lt=self.ends_at,
        )

    def new_findings(self) -> Any:
        return Finding.objects.filter(
            repository=self.repository,
            first_seen_scan__in=self.scans(),
            from_ruleset_change=False,
        )

    def moved_to(self, state: str) -> Any:
        """Findings a scan of the week moved to `state`."""
        events = FindingEvent.objects.filter(
            finding__repository=self.repository, to_state=state, scan__in=self.scans()
        )
        return Finding.objects.filter(pk__in=events.values("finding_id"))


def _trend(repository: Repository, week_start: date) -> list[dict[str, Any]]:
    """The last weeks up to this one, oldest first: open at each week's end, and what the
    scans of each week counted as new and fixed."""
    weeks = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        start = week_start - timedelta(days=7 * back)
        starts_at, ends_at = week_bounds(start)
        scans = list(
            Scan.objects.done().filter(
                repository=repository, finished_at__gte=starts_at, finished_at__lt=ends_at
            )
        )
        weeks.append(
            {
                "week": start.isoformat(),
                "open": _open_at(repository, ends_at),
                "new": sum(s.count("new") for s in scans),
                "fixed": sum(s.count("fixed") for s in scans),
                "scans": len(scans),
            }
        )
    return weeks


def _top_rules(findings: Any) -> list[dict[str, Any]]:
    rows = (
        findings.values("tool", "rule")
        .annotate(n=Count("id"))
        .order_by("-n", "tool", "rule")[:TOP_RULES]
    )
    return [{"tool": r["tool"], "rule": r["rule"], "count": r["n"]} for r in rows]


def _items(findings: Any) -> list[dict[str, Any]]:
    listed = sorted(
        findings.order_by("path", "line", "id")[:200],
        key=lambda f: (_severity_rank(f.severity), f.path, f.line or 0),
    )
    return [_finding_item(f) for f in listed[:ITEMS_LISTED]]


def _autopr_item(autopr: AutoPR) -> dict[str, Any]:
    return {
        "id": autopr.pk,
        "title": autopr.title,
        "kind": autopr.kind,
        "key": autopr.key,
        "state": autopr.state,
        "branch": autopr.branch,
        "external_url": autopr.external_url,
        "error": autopr.error[:300],
    }


def _autoprs(week: Week) -> dict[str, list[dict[str, Any]]]:
    mine = AutoPR.objects.filter(repository=week.repository)
    in_week = Q(created_at__gte=week.starts_at, created_at__lt=week.ends_at)
    decided = Q(decided_at__gte=week.starts_at, decided_at__lt=week.ends_at)
    return {
        "opened": [_autopr_item(a) for a in mine.filter(in_week).order_by("created_at", "id")],
        "merged": [
            _autopr_item(a)
            for a in mine.filter(decided, state=AutoPRState.MERGED).order_by("decided_at", "id")
        ],
        "failed": [
            _autopr_item(a)
            for a in mine.filter(
                Q(updated_at__gte=week.starts_at, updated_at__lt=week.ends_at),
                state=AutoPRState.FAILED,
            ).order_by("updated_at", "id")
        ],
    }


def _tool_runs(week: Week) -> dict[str, list[dict[str, Any]]]:
    runs = (
        ToolRun.objects.filter(scan__in=week.scans())
        .select_related("scan")
        .order_by("scan__finished_at", "tool")
    )
    failures: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for run in runs:
        where = {"tool": run.tool, "scan": run.scan_id, "origin": run.origin}
        if run.status == ToolRunStatus.FAILED:
            failures.append(where | {"error": run.error[:300]})
        if run.ruleset_changed and run.origin == ToolRunOrigin.SCANNER:
            changes.append(
                where
                | {
                    "version": run.version,
                    "previous_version": run.previous_version,
                    "config_changed": run.config_hash != run.previous_config_hash,
                }
            )
    return {"scanner_failures": failures[:ITEMS_LISTED], "ruleset_changes": changes}


def _expiring(repository: Repository, ends_at: datetime) -> list[dict[str, Any]]:
    findings = Finding.objects.filter(
        repository=repository,
        state=FindingState.ACCEPTED,
        accepted_until__gte=ends_at,
        accepted_until__lt=ends_at + EXPIRY_HORIZON,
    ).order_by("accepted_until", "id")
    return [
        _finding_item(f)
        | {"accepted_until": f.accepted_until.isoformat() if f.accepted_until else None}
        for f in findings[:ITEMS_LISTED]
    ]


def _dependencies(repository: Repository) -> list[dict[str, Any]]:
    """Dependency findings open now (vulnerable or behind): what to upgrade, and why."""
    findings = Finding.objects.filter(repository=repository, kind=FindingKind.DEPENDENCY).active()
    return _items(findings)


def _open_by_kind(scan: Scan | None) -> dict[str, int]:
    if scan is None:
        return {}
    return {k: int(n) for k, n in (scan.counts.get("open_by_kind") or {}).items()}


def weekly_sections(repository: Repository, week_start: date) -> dict[str, Any]:
    """Everything the report says about the week, as plain data (the `sections` column)."""
    starts_at, ends_at = week_bounds(week_start)
    week = Week(repository, starts_at, ends_at)
    new = week.new_findings()
    last = _last_scan_before(repository, ends_at)
    previous_open = _open_at(repository, starts_at)
    return {
        "new": _grouped(new),
        "fixed": _grouped(week.moved_to(FindingState.FIXED)),
        "reopened": _grouped(week.moved_to(FindingState.REOPENED)),
        "ruleset": _grouped(
            Finding.objects.filter(
                repository=repository, first_seen_scan__in=week.scans(), from_ruleset_change=True
            )
        ),
        "open_by_severity": dict(last.counts.get("open") or {}) if last else {},
        "open_by_kind": _open_by_kind(last),
        "previous_open": previous_open,
        "last_scan": None
        if last is None
        else {
            "id": last.pk,
            "commit": last.commit,
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
            "gate_new_code": dict(last.counts.get("new_code") or {}),
        },
        "trend": _trend(repository, week_start),
        "top_new_rules": _top_rules(new),
        "stale": _items(new.filter(kind=FindingKind.STALE)),
        "contract": _items(new.filter(kind=FindingKind.CONTRACT)),
        "dependencies": _dependencies(repository),
        "autoprs": _autoprs(week),
        "expiring": _expiring(repository, ends_at),
    } | _tool_runs(week)


@transaction.atomic
def write_weekly_report(
    *,
    repository: Repository,
    week_start: date,
    actor: Actor,
    now: datetime | None = None,
) -> WeeklyReport:
    """Write (or write again) `repository`'s report of the week starting `week_start`."""
    week_start = week_start_of(week_start)
    starts_at, ends_at = week_bounds(week_start)
    sections = weekly_sections(repository, week_start)
    last = sections["last_scan"]
    open_total = sum(sections["open_by_severity"].values()) if last else None
    previous = sections["previous_open"]
    autoprs = sections["autoprs"]
    report, _ = WeeklyReport.objects.update_or_create(
        repository=repository,
        week_start=week_start,
        defaults={
            "starts_at": starts_at,
            "ends_at": ends_at,
            "scans": Scan.objects.done()
            .filter(repository=repository, finished_at__gte=starts_at, finished_at__lt=ends_at)
            .count(),
            "new_total": _total(sections["new"]),
            "fixed_total": _total(sections["fixed"]),
            "reopened_total": _total(sections["reopened"]),
            "open_total": open_total,
            "open_change": None
            if open_total is None or previous is None
            else open_total - previous,
            "autoprs_opened": len(autoprs["opened"]),
            "autoprs_merged": len(autoprs["merged"]),
            "autoprs_failed": len(autoprs["failed"]),
            "sections": sections,
            "generated_at": now or timezone.now(),
            "generated_by": actor,
        },
    )
    return report


def write_due_reports(*, actor: Actor, now: datetime | None = None) -> list[WeeklyReport]:
    """The last complete week's report of each enabled repository that has none yet: the
    schedule runs this daily, so each week's report is written on its Monday."""
    now = now or timezone.now()
    week = last_complete_week(now)
    written = []
    have = set(WeeklyReport.objects.filter(week_start=week).values_list("repository_id", flat=True))
    for repository in Repository.objects.enabled().exclude(pk__in=have):
        written.append(
            write_weekly_report(repository=repository, week_start=week, actor=actor, now=now)
        )
    return written
