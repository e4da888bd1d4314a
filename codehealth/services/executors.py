"""The engine executors: `codehealth.scan` runs a scan, `codehealth.autopr` builds an
auto-PR's branch and then waits for a person (or merges, once approved)."""

from __future__ import annotations

from typing import Any

from codehealth.errors import CodehealthError, PatchRefused
from codehealth.models import AutoPRState, ScanStatus
from codehealth.services.patches import (
    build_autopr,
    fail_build,
    get_autopr,
    merge_proposed,
    request_merge_decision,
)
from codehealth.services.scans import run_scan
from engine.executors import ExecutionContext, PermanentFailure
from engine.models import Task


def run_scan_task(context: ExecutionContext) -> dict[str, Any]:
    scan = run_scan(scan_id=int(context.payload["scan"]), check_stop=context.check_stop)
    if scan.status == ScanStatus.FAILED:
        raise PermanentFailure(f"scan #{scan.pk} failed: {scan.error}")
    return {
        "scan": scan.pk,
        "commit": scan.commit,
        "counts": scan.counts,
        "reused_from": scan.reused_from_id,
    }


def run_autopr_task(context: ExecutionContext) -> dict[str, Any]:
    """First run: build the branch and ask a person to merge it (the task then waits for
    approval: the worker's completion of this run is refused, which is expected). Run
    again after an approval given in the engine: merge, as the approver."""
    try:
        autopr = get_autopr(int(context.payload["autopr"]))
    except CodehealthError as exc:
        raise PermanentFailure(str(exc)) from exc
    if autopr.state in (AutoPRState.QUEUED, AutoPRState.BUILDING):
        try:
            autopr = build_autopr(autopr_id=autopr.pk, check_stop=context.check_stop)
        except PatchRefused as exc:
            fail_build(autopr.pk, str(exc))
            raise PermanentFailure(f"refused: {exc}") from exc
        except CodehealthError as exc:
            fail_build(autopr.pk, str(exc))
            raise
        request_merge_decision(autopr, context.task_id)
        return {"autopr": autopr.pk, "state": autopr.state, "branch": autopr.branch}
    if autopr.state == AutoPRState.PROPOSED:
        approver = Task.objects.select_related("decided_by").get(pk=context.task_id).decided_by
        if approver is None:
            raise PermanentFailure("approved by nobody: merge from the code-health page")
        try:
            merge_proposed(autopr, approver)
        except CodehealthError as exc:
            raise PermanentFailure(f"merge refused: {exc}") from exc
    if autopr.state == AutoPRState.MERGED:
        return {"autopr": autopr.pk, "state": autopr.state, "merged": autopr.merged_commit}
    raise PermanentFailure(f"auto-PR #{autopr.pk} is {autopr.state}: {autopr.error}")
