"""A scan as plain data (the command's JSON, the API) and as one line of text."""

from __future__ import annotations

from typing import Any

from codehealth.models import SEVERITY_ORDER, Scan, ToolRunStatus
from codehealth.services.summary import GATE_SEVERITIES


def scan_data(scan: Scan) -> dict[str, Any]:
    runs = list(scan.tool_runs.all())
    new_code = scan.counts.get("new_code") or {}
    return {
        "scan": scan.pk,
        "repository": scan.repository.name,
        "commit": scan.commit,
        "ref": scan.ref,
        "baseline": scan.baseline,
        "status": scan.status,
        "error": scan.error,
        "reused_from": scan.reused_from_id,
        "duration_seconds": scan.duration_seconds(),
        "counts": scan.counts,
        "gate_passed": scan.status == "done"
        and not any(new_code.get(s, 0) for s in GATE_SEVERITIES),
        "tools": [
            {
                "tool": run.tool,
                "status": run.status,
                "version": run.version,
                "config_hash": run.config_hash,
                "exit_code": run.exit_code,
                "duration_ms": run.duration_ms,
                "findings": run.findings,
                "error": run.error,
                "skip_reason": run.skip_reason,
                "ruleset_changed": run.ruleset_changed,
            }
            for run in runs
        ],
    }


def _by_severity(counts: dict[str, int]) -> str:
    parts = [f"{s} {counts[s]}" for s in SEVERITY_ORDER if counts.get(s)]
    return ", ".join(parts) or "none"


def scan_line(scan: Scan) -> str:
    data = scan_data(scan)
    head = f"{scan.repository.name} @ {scan.commit[:12] or scan.ref} ({scan.ref})"
    if scan.status != "done":
        return f"{head}: {scan.status}: {scan.error}"
    took = data["duration_seconds"] or 0.0
    reused = f", reused scan #{scan.reused_from_id}" if scan.reused_from_id else ""
    counts = scan.counts
    totals = {k: sum((counts.get(k) or {}).values()) for k in ("new", "fixed", "reopened")}
    tools = []
    for run in scan.tool_runs.all():
        if run.status == ToolRunStatus.SKIPPED:
            tools.append(f"{run.tool} skipped ({run.skip_reason})")
        elif run.status == ToolRunStatus.FAILED:
            tools.append(f"{run.tool} FAILED ({run.error[:120]})")
        else:
            changed = ", rule set changed" if run.ruleset_changed else ""
            tools.append(
                f"{run.tool} ok, {run.findings} in {run.duration_ms / 1000:.1f} s{changed}"
            )
    gate = "passed" if data["gate_passed"] else "FAILED"
    return (
        f"{head}: done in {took:.1f} s{reused}\n"
        f"  open: {_by_severity(counts.get('open') or {})}\n"
        f"  new {totals['new']}, fixed {totals['fixed']}, reopened {totals['reopened']}; "
        f"gate on new code: {gate} ({_by_severity(counts.get('new_code') or {})})\n"
        f"  tools: {'; '.join(tools)}"
    )
