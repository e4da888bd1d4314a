"""A GitHub repository scanned end to end against the fake GitHub: the tree and files at
the commit, ruff on the tarball checkout, and what the repository's own CI and alerts said
(annotations with a capped job, a SARIF artifact behind a 302, alerts with and without
access), each a tool run of the scan whose findings keep their identity."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codehealth.models import Finding, FindingState, Repository, Scan, ToolRunStatus
from codehealth.services import scan_to_sarif
from tests.codehealth.conftest import push, scan
from tests.codehealth.fake_github import TOKEN, FakeGitHub, Scripted, zipped
from tests.codehealth.gitrepo import RUFF_CONFIG
from tests.codehealth.test_sarif import validate

pytestmark = pytest.mark.django_db

MODELS = "import os\n\n\nclass Thing:\n    name = 'x'\n" + "".join(
    f"\n\ndef f{n}():\n    return {n}\n" for n in range(60)
)
FILES = {
    "pyproject.toml": RUFF_CONFIG,
    "app/models.py": MODELS,
    "app/views.py": "def index():\n    return 'hi'\n",
}


def sarif(uri: str, line: int) -> bytes:
    result = {
        "ruleId": "py/unused-import",
        "level": "warning",
        "message": {"text": "Import of 'os' is not used."},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}}
        ],
    }
    run = {"tool": {"driver": {"name": "CodeQL", "semanticVersion": "2.20.1"}}, "results": [result]}
    return json.dumps({"version": "2.1.0", "runs": [run]}).encode()


def note(path: str, line: int, message: str, *, level: str = "warning", title: str = "") -> Any:
    return {
        "path": path,
        "start_line": line,
        "end_line": line,
        "annotation_level": level,
        "message": message,
        "title": title,
    }


@pytest.fixture
def ci(github_api: FakeGitHub) -> FakeGitHub:
    """A commit whose CI ran: a lint job, a type-check job at GitHub's 50-annotation cap,
    a job still running, and a workflow that uploaded CodeQL's SARIF as an artifact."""
    push(github_api, FILES)
    github_api.add_check_run(
        name="lint",
        notes=[
            note("app/views.py", 2, "Use a constant", title="W9"),
            note(".github", 1, "Process completed with exit code 1.", level="failure"),
        ],
    )
    github_api.add_check_run(
        name="typecheck",
        notes=[note("app/models.py", 9 + 4 * n, f"untyped f{n}") for n in range(50)],
    )
    github_api.add_check_run(name="slow", status="in_progress")
    github_api.add_workflow_run(
        name="CodeQL",
        artifacts={
            "codeql-sarif": zipped(
                {"python.sarif": sarif("file:///home/runner/work/hw/hw/app/models.py", 1)}
            )
        },
    )
    return github_api


def runs(done: Scan) -> dict[str, Any]:
    return {run.tool: run for run in done.tool_runs.all()}


def test_a_github_repository_is_scanned_with_what_its_ci_reported(
    github_repository: Repository, ci: FakeGitHub
) -> None:
    done = scan(github_repository)

    assert done.commit == ci.head
    by_tool = runs(done)
    assert by_tool["ruff"].origin == "scanner" and by_tool["ruff"].status == ToolRunStatus.OK
    lint, typecheck, slow = by_tool["lint"], by_tool["typecheck"], by_tool["slow"]
    assert (lint.origin, lint.status, lint.findings, lint.partial) == ("host", "ok", 1, "")
    assert lint.source_url.startswith("https://github.com/")
    assert typecheck.findings == 50
    assert "at most 50 annotations per job" in typecheck.partial
    assert (slow.status, slow.skip_reason) == ("skipped", "in progress on GitHub: no result yet")
    assert (by_tool["CodeQL"].status, by_tool["CodeQL"].version) == ("ok", "2.20.1")
    assert (by_tool["dependabot"].status, by_tool["dependabot"].findings) == ("ok", 1)
    assert (by_tool["code-scanning"].status, by_tool["code-scanning"].findings) == ("ok", 1)
    assert "lint: 1 annotation(s) on no file of the commit not imported" in done.notes

    findings = Finding.objects.filter(repository=github_repository)
    assert set(findings.values_list("tool", "rule", "path", "line")) >= {
        ("ruff", "F401", "app/models.py", 1),
        ("lint", "W9", "app/views.py", 2),
        ("CodeQL", "py/unused-import", "app/models.py", 1),
        ("advisories", "GHSA-8f4m-hccc-8qph", "", None),
        ("code-scanning", "js/zipslip", "spec-main/api-session-spec.ts", 917),
    }
    lint_finding = findings.get(tool="lint")
    assert (lint_finding.severity, lint_finding.symbol) == ("medium", "index")
    vulnerable = findings.get(tool="advisories")
    assert (vulnerable.kind, vulnerable.anchor) == ("dependency", "ansible GHSA-8f4m-hccc-8qph")
    assert "fixed in" in vulnerable.message or "no fixed version" in vulnerable.message

    log = scan_to_sarif(done)
    validate(log)
    (typecheck_run,) = [r for r in log["runs"] if r["tool"]["driver"]["name"] == "typecheck"]
    (notice,) = typecheck_run["invocations"][0]["toolExecutionNotifications"]
    assert notice["level"] == "warning" and "at most 50 annotations" in notice["message"]["text"]
    assert typecheck_run["invocations"][0]["properties"]["reportedBy"] == "github"

    # The archive and the artifact came from the storage host, without the token.
    downloads = ci.artifact_host.requests
    assert {d.path.split("?")[0].rsplit(".", 1)[-1] for d in downloads} == {"gz", "zip"}
    assert all(TOKEN not in str(d.headers) for d in downloads)


def test_a_rescan_reads_ci_afresh_and_a_capped_job_closes_nothing(
    github_repository: Repository, ci: FakeGitHub
) -> None:
    first = scan(github_repository)
    capped_before = set(Finding.objects.filter(tool="typecheck").values_list("pk", flat=True))
    # CI ran again on the same commit: lint is clean now, the capped job listed 50
    # annotations from further down, and the token lost its Dependabot access.
    ci.add_check_run(name="lint", notes=[])
    ci.add_check_run(
        name="typecheck",
        notes=[note("app/models.py", 9 + 4 * n, f"untyped f{n}") for n in range(10, 60)],
    )
    ci.dependabot_denial = Scripted(
        403,
        {
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/dependabot/alerts",
            "status": "403",
        },
    )

    again = scan(github_repository)

    assert again.reused_from_id == first.pk  # ruff's results reused: same commit, same tools
    by_tool = runs(again)
    assert by_tool["ruff"].status == "ok"
    assert (by_tool["lint"].status, by_tool["lint"].findings) == ("ok", 0)
    assert Finding.objects.get(tool="lint").state == FindingState.FIXED
    dependabot = by_tool["dependabot"]
    assert dependabot.status == ToolRunStatus.SKIPPED
    assert dependabot.skip_reason == "no access: Resource not accessible by integration"
    assert Finding.objects.get(tool="advisories").state == FindingState.OPEN  # not "fixed"
    # Capped: the ten no longer listed may still be there, so they stay open.
    typecheck = Finding.objects.filter(tool="typecheck")
    assert typecheck.count() == 60
    assert set(typecheck.values_list("state", flat=True)) == {FindingState.OPEN}
    assert capped_before <= set(typecheck.values_list("pk", flat=True))
    assert again.count("new") == 10 and again.count("fixed") == 1


def test_a_ci_job_named_like_a_scanner_is_kept_apart(
    github_repository: Repository, github_api: FakeGitHub
) -> None:
    push(github_api, FILES)
    github_api.add_check_run(name="ruff", notes=[note("app/views.py", 1, "from CI")])

    done = scan(github_repository)

    by_tool = runs(done)
    assert by_tool["ruff"].origin == "scanner"
    assert (by_tool["ci:ruff"].origin, by_tool["ci:ruff"].findings) == ("host", 1)
    assert Finding.objects.filter(tool="ci:ruff").count() == 1


def test_without_access_to_ci_the_scan_says_so_and_still_runs(
    github_repository: Repository, github_api: FakeGitHub
) -> None:
    push(github_api, FILES)
    github_api.script(
        Scripted(
            403,
            {"message": "Resource not accessible by integration", "status": "403"},
            path="/check-runs",
        )
    )

    done = scan(github_repository)

    checks = runs(done)["github-checks"]
    assert checks.status == ToolRunStatus.FAILED
    assert "Resource not accessible by integration" in checks.error
    assert runs(done)["ruff"].status == "ok"
