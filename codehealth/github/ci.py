"""What the repository's own CI said about a commit: workflow runs, check runs, annotations."""

from __future__ import annotations

from typing import Any

from codehealth.github.reads import _ref, repo_path
from codehealth.github.transport import GitHubTransport
from codehealth.github.types import (
    ACTIONS_ANNOTATIONS_PER_JOB,
    Annotation,
    CheckRun,
    CheckRunAnnotations,
    CIResults,
    WorkflowRun,
)

ACTIONS_APP = "github-actions"


def _workflow_run(data: dict[str, Any]) -> WorkflowRun:
    return WorkflowRun(
        id=int(data["id"]),
        name=data.get("name") or "",
        head_sha=data["head_sha"],
        status=data.get("status") or "",
        conclusion=data.get("conclusion"),
        event=data.get("event") or "",
        html_url=data.get("html_url") or "",
        run_attempt=int(data.get("run_attempt") or 1),
    )


def _check_run(data: dict[str, Any]) -> CheckRun:
    output = data.get("output") or {}
    return CheckRun(
        id=int(data["id"]),
        name=data.get("name") or "",
        head_sha=data["head_sha"],
        status=data.get("status") or "",
        conclusion=data.get("conclusion"),
        app_slug=(data.get("app") or {}).get("slug") or "",
        html_url=data.get("html_url") or "",
        annotations_count=int(output.get("annotations_count") or 0),
    )


def _annotation(data: dict[str, Any]) -> Annotation:
    return Annotation(
        path=data.get("path") or "",
        start_line=int(data.get("start_line") or 0),
        end_line=int(data.get("end_line") or data.get("start_line") or 0),
        level=data.get("annotation_level") or "",
        message=data.get("message") or "",
        title=data.get("title") or "",
        raw_details=data.get("raw_details") or "",
    )


def cap_reason(run: CheckRun, received: int) -> str:
    """Why the annotations of `run` may be incomplete, or "" when nothing says so."""
    if received < run.annotations_count:
        return f"GitHub counted {run.annotations_count} annotations and listed {received}"
    if run.app_slug == ACTIONS_APP and run.annotations_count >= ACTIONS_ANNOTATIONS_PER_JOB:
        return (
            f"GitHub Actions keeps at most {ACTIONS_ANNOTATIONS_PER_JOB} annotations per job "
            "and drops the rest: the job's log may hold more"
        )
    return ""


def workflow_runs(http: GitHubTransport, full_name: str, sha: str) -> list[WorkflowRun]:
    rows = http.items(
        f"{repo_path(full_name)}/actions/runs", key="workflow_runs", params={"head_sha": sha}
    )
    return [_workflow_run(row) for row in rows]


def check_runs(http: GitHubTransport, full_name: str, ref: str) -> list[CheckRun]:
    rows = http.items(f"{repo_path(full_name)}/commits/{_ref(ref)}/check-runs", key="check_runs")
    return [_check_run(row) for row in rows]


def check_run_annotations(
    http: GitHubTransport, full_name: str, run: CheckRun
) -> CheckRunAnnotations:
    notes: tuple[Annotation, ...] = ()
    if run.annotations_count:
        rows = http.items(f"{repo_path(full_name)}/check-runs/{run.id}/annotations")
        notes = tuple(_annotation(row) for row in rows)
    reason = cap_reason(run, len(notes))
    return CheckRunAnnotations(run, notes, capped=bool(reason), cap_reason=reason)


def ci_results(http: GitHubTransport, full_name: str, sha: str) -> CIResults:
    """Every workflow run for the commit, and every check run with its annotations."""
    return CIResults(
        sha=sha,
        workflow_runs=tuple(workflow_runs(http, full_name, sha)),
        check_runs=tuple(
            check_run_annotations(http, full_name, run) for run in check_runs(http, full_name, sha)
        ),
    )
