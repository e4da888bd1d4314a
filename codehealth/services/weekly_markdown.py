"""A weekly report as Markdown: the download, and what a person pastes into a chat or a PR."""

from __future__ import annotations

from typing import Any

from codehealth.models import SEVERITY_ORDER, FindingKind, WeeklyReport

KIND_LABELS = dict(FindingKind.choices)


def _cell(text: Any) -> str:
    """Table cells stay on one line and keep their pipes literal."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _signed(n: int | None) -> str:
    if n is None:
        return "n/a"
    return f"{n:+d}" if n else "±0"


def _where(item: dict[str, Any]) -> str:
    line = f":{item['line']}" if item.get("line") else ""
    return f"`{item.get('path') or '-'}{line}`"


def _findings(title: str, items: list[dict[str, Any]], empty: str) -> list[str]:
    lines = [f"## {title}", ""]
    if not items:
        return [*lines, empty, ""]
    for item in items:
        lines.append(
            f"- **{item['severity']}** {item['tool']} `{item['rule']}` {_where(item)}: "
            f"{_cell(item['message'])}"
        )
    return [*lines, ""]


BUCKETS = ("new", "fixed", "reopened")


def kind_rows(sections: dict[str, Any]) -> list[tuple[str, list[dict[str, int]]]]:
    """(kind's label, [new, fixed, reopened by severity]) for each kind that moved."""
    rows = []
    for kind, label in KIND_LABELS.items():
        cells = [dict((sections.get(bucket) or {}).get(kind) or {}) for bucket in BUCKETS]
        if any(cells):
            rows.append((label, cells))
    return rows


def severities(by_severity: dict[str, int]) -> str:
    return ", ".join(f"{by_severity[s]} {s}" for s in SEVERITY_ORDER if by_severity.get(s)) or "0"


def _by_kind(sections: dict[str, Any]) -> list[str]:
    rows = kind_rows(sections)
    if not rows:
        return ["No finding was new, fixed or reopened this week.", ""]
    return _table(
        ["Kind", "New", "Fixed", "Reopened"],
        [[label, *(severities(cell) for cell in cells)] for label, cells in rows],
    )


def weekly_markdown(report: WeeklyReport) -> str:
    s = report.sections
    end = report.last_day
    status = "" if report.is_complete else " (the week so far)"
    lines = [
        f"# Code health: {report.repository.name}, week of {report.week_start:%Y-%m-%d}{status}",
        "",
        f"{report.week_start:%Y-%m-%d} to {end:%Y-%m-%d} (UTC), {report.scans} scan(s); "
        f"written {report.generated_at:%Y-%m-%d %H:%M} UTC by {report.generated_by}.",
        "",
        "## Summary",
        "",
    ]
    open_total = "not scanned" if report.open_total is None else str(report.open_total)
    lines += _table(
        ["Open at the week's end", "Change on the previous week", "New", "Fixed", "Reopened"],
        [
            [
                open_total,
                _signed(report.open_change),
                report.new_total,
                report.fixed_total,
                report.reopened_total,
            ]
        ],
    )
    open_sev = s.get("open_by_severity") or {}
    if open_sev:
        lines += _table(
            ["Severity", "Open"],
            [[sev, open_sev[sev]] for sev in SEVERITY_ORDER if sev in open_sev],
        )
    lines += ["## New, fixed and reopened by kind", "", *_by_kind(s)]
    ruleset = sum(n for by in (s.get("ruleset") or {}).values() for n in by.values())
    if ruleset:
        lines += [f"{ruleset} more appeared with a tool's new version or configuration.", ""]
    lines += ["## Trend", ""]
    lines += _table(
        ["Week", "Open at its end", "New", "Fixed", "Scans"],
        [
            [w["week"], "-" if w["open"] is None else w["open"], w["new"], w["fixed"], w["scans"]]
            for w in s.get("trend", [])
        ],
    )
    lines += ["## Top new findings by rule", ""]
    top = s.get("top_new_rules") or []
    lines += (
        _table(["Tool", "Rule", "New"], [[r["tool"], r["rule"], r["count"]] for r in top])
        if top
        else ["None.", ""]
    )
    lines += _findings("New stale code", s.get("stale") or [], "None.")
    lines += _findings("Contract drift", s.get("contract") or [], "None.")
    lines += _findings("Dependencies", s.get("dependencies") or [], "No open dependency finding.")
    autoprs = s.get("autoprs") or {}
    lines += ["## Auto-PRs", ""]
    lines += [
        f"Opened {report.autoprs_opened}, merged {report.autoprs_merged}, "
        f"failed {report.autoprs_failed}.",
        "",
    ]
    for state in ("opened", "merged", "failed"):
        for item in autoprs.get(state, []):
            detail = f": {_cell(item['error'])}" if state == "failed" and item["error"] else ""
            lines.append(f"- {state}: #{item['id']} {_cell(item['title'])}{detail}")
    if any(autoprs.get(k) for k in ("opened", "merged", "failed")):
        lines.append("")
    lines += ["## Scanners", ""]
    failures, changes = s.get("scanner_failures") or [], s.get("ruleset_changes") or []
    if not failures and not changes:
        lines += ["No scanner failed and none changed its version or configuration.", ""]
    for item in failures:
        lines.append(f"- {item['tool']} failed in scan #{item['scan']}: {_cell(item['error'])}")
    for item in changes:
        version = (
            f"{item['previous_version'] or '?'} → {item['version']}"
            if item["previous_version"] != item["version"]
            else f"{item['version']}, configuration changed"
        )
        lines.append(f"- {item['tool']} rule set changed in scan #{item['scan']}: {version}")
    if failures or changes:
        lines.append("")
    lines += ["## Accepted findings about to expire", ""]
    expiring = s.get("expiring") or []
    if not expiring:
        lines += ["None in the next two weeks.", ""]
    for item in expiring:
        until = (item.get("accepted_until") or "")[:10]
        lines.append(f"- until {until}: {item['tool']} `{item['rule']}` {_where(item)}")
    return "\n".join(lines).rstrip() + "\n"
