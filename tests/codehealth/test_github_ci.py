"""The repository's own CI: workflow runs, check runs, capped annotations, SARIF artifacts."""

from __future__ import annotations

import json

from codehealth.github import GitHubRepo
from tests.codehealth.fake_github import TOKEN, FakeGitHub, zipped

SARIF = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [
        {
            "tool": {"driver": {"name": "ruff", "semanticVersion": "0.8.4"}},
            "results": [
                {
                    "ruleId": "F401",
                    "level": "error",
                    "message": {"text": "`os` imported but unused"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "src/app.py"},
                                "region": {"startLine": 1, "endLine": 1},
                            }
                        }
                    ],
                },
                {"ruleId": "E501", "message": {"text": "Line too long"}},
            ],
        }
    ],
}


def test_ci_results_gather_runs_check_runs_and_annotations(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    run_id = fake_github.add_workflow_run(name="CI")
    fake_github.add_check_run(name="Mighty Readme", app_slug="octoapp", annotations=2)
    fake_github.add_check_run(name="test", annotations=0)
    results = repo.ci_results(fake_github.head)
    assert [run.id for run in results.workflow_runs] == [run_id]
    assert results.workflow_runs[0].head_sha == fake_github.head
    assert [r.check_run.name for r in results.check_runs] == ["Mighty Readme", "test"]
    first = results.check_runs[0].annotations[0]
    assert (first.path, first.level, first.start_line) == ("src/file_0.py", "warning", 1)
    assert first.message == "Check your spelling for 'banaas'."
    assert results.capped is False
    # a check run that counts no annotations is not asked for them
    assert len(fake_github.sent("GET", "/annotations")) == 1


def test_a_job_at_githubs_50_annotation_cap_is_reported_capped(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    fake_github.add_check_run(name="lint", annotations=50)
    fake_github.add_check_run(name="types", annotations=49)
    fake_github.add_check_run(name="other app", app_slug="octoapp", annotations=50)
    lint, types, other = repo.ci_results(fake_github.head).check_runs
    assert lint.capped is True
    assert "at most 50 annotations per job" in lint.cap_reason
    assert len(lint.annotations) == 50
    assert types.capped is False
    assert other.capped is False  # the 50-per-job cap is GitHub Actions', not the Checks API's


def test_fewer_annotations_listed_than_counted_is_reported_capped(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    run_id = fake_github.add_check_run(name="lint", app_slug="octoapp", annotations=5)
    del fake_github.annotations[run_id][3:]
    (lint,) = repo.ci_results(fake_github.head).check_runs
    assert lint.capped is True
    assert lint.cap_reason == "GitHub counted 5 annotations and listed 3"


def test_sarif_artifacts_are_downloaded_without_the_token_and_parsed(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    run_id = fake_github.add_workflow_run(
        artifacts={
            "ruff-sarif": zipped({"results/ruff.sarif": json.dumps(SARIF).encode()}),
            "coverage-report": zipped({"coverage.xml": b"<coverage/>"}),
        }
    )
    found = repo.sarif_artifacts(run_id)
    (sarif,) = found.files
    assert (sarif.artifact.name, sarif.name) == ("ruff-sarif", "results/ruff.sarif")
    (run,) = sarif.runs
    assert (run.tool_name, run.tool_version) == ("ruff", "0.8.4")
    first, second = run.results
    assert (first.rule_id, first.level, first.path, first.start_line) == (
        "F401",
        "error",
        "src/app.py",
        1,
    )
    assert (second.level, second.path, second.start_line) == ("warning", "", None)
    assert found.skipped == ()
    # GitHub saw the token; the storage host it redirected to did not
    (api_request,) = fake_github.sent("GET", "/zip")
    assert api_request.headers["Authorization"] == f"Bearer {TOKEN}"
    (download,) = fake_github.artifact_host.requests
    assert "sig=" in download.path
    assert not any(name.lower() == "authorization" for name in download.headers)
    assert TOKEN not in json.dumps(download.headers)


def test_unfit_artifacts_are_skipped_with_a_reason(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    run_id = fake_github.add_workflow_run(
        artifacts={
            "old-sarif": zipped({"a.sarif": json.dumps(SARIF).encode()}),
            "huge-sarif": b"x" * 2048,
            "empty-sarif": zipped({"notes.txt": b"nothing"}),
            "broken-sarif": b"not a zip",
        }
    )
    fake_github.artifacts[run_id][0]["expired"] = True
    found = repo.sarif_artifacts(run_id, max_artifact_bytes=1024)
    reasons = {skip.artifact.name: skip.reason for skip in found.skipped}
    assert found.files == ()
    assert reasons["old-sarif"] == "expired"
    assert reasons["huge-sarif"] == "larger than 1024 B"
    assert reasons["empty-sarif"] == "no .sarif file inside"
    assert reasons["broken-sarif"].startswith("unreadable")
    assert len(fake_github.artifact_host.requests) == 2  # neither the expired nor the huge one
