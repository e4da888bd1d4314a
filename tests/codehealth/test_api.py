"""/api/codehealth/: repositories (token write-only), scans (POST starts one, SARIF),
findings filtered and cursor-paginated with their actions, auto-PRs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from codehealth.models import AutoPR, Finding, FindingState, Repository, Scan
from engine.models import Task
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo
from tests.codehealth.test_patches import PATCH, build
from tests.factories import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user: Any) -> APIClient:
    return api_client_for(user)


@pytest.fixture
def staff_api(staff: Any) -> APIClient:
    return api_client_for(staff)


@pytest.fixture
def scanned(make_repo: Callable[..., GitRepo]) -> Repository:
    repo = make_repo({"app.py": "import os\nimport sys\n\n\ndef f(a=[]):\n    return a == None\n"})
    repository = register(repo, test_command="{python} -c pass")
    scan(repository)
    return repository


def test_a_repository_token_is_written_never_read(staff_api: APIClient, tmp_path: Any) -> None:
    response = staff_api.post(
        "/api/codehealth/repositories/",
        {"name": "web", "kind": "github", "github_name": "octo/web", "token": "ghp_secret"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert "token" not in response.json() and response.json()["has_token"] is True
    assert Repository.objects.get(name="web").token == "ghp_secret"
    listed = staff_api.get("/api/codehealth/repositories/").content.decode()
    assert "ghp_secret" not in listed


def test_a_repository_is_validated_and_people_may_not_add_one(
    staff_api: APIClient, api: APIClient
) -> None:
    response = staff_api.post(
        "/api/codehealth/repositories/", {"name": "x", "kind": "local"}, format="json"
    )
    assert response.status_code == 400 and "path" in response.json()

    assert (
        api.post(
            "/api/codehealth/repositories/",
            {"name": "y", "kind": "local", "path": "/srv"},
            format="json",
        ).status_code
        == 403
    )


def test_posting_a_scan_queues_it_for_a_worker(api: APIClient, scanned: Repository) -> None:
    response = api.post("/api/codehealth/scans/", {"repository": scanned.name}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["repository"] == scanned.name
    assert Task.objects.get(pk=body["task"]).kind == "codehealth.scan"
    assert api.post("/api/codehealth/scans/", {"repository": "nope"}, format="json").json()[
        "repository"
    ]


def test_a_scan_reads_with_its_tools_and_exports_sarif(api: APIClient, scanned: Repository) -> None:
    done = Scan.objects.get(repository=scanned, status="done")

    detail = api.get(f"/api/codehealth/scans/{done.pk}/").json()
    sarif = api.get(f"/api/codehealth/scans/{done.pk}/sarif/").json()

    tools = {t["tool"] for t in detail["tool_runs"]}
    assert tools >= {"ruff", "mypy", "tsc", "eslint", "vulture", "contract", "django", "deptry"}
    assert detail["counts"]["open"] == {"medium": 3, "low": 1}
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == 4


def test_findings_are_filtered_and_paginated_by_cursor(api: APIClient, scanned: Repository) -> None:
    first = api.get("/api/codehealth/findings/", {"repository": scanned.name, "page_size": 2})
    assert first.status_code == 200
    page = first.json()
    assert len(page["results"]) == 2 and page["next"]
    rest = api.get(page["next"]).json()
    seen = [f["id"] for f in page["results"] + rest["results"]]
    assert sorted(seen) == sorted(Finding.objects.values_list("pk", flat=True))

    only = api.get("/api/codehealth/findings/", {"rule": "E711", "state": "current"}).json()
    assert [f["rule"] for f in only["results"]] == ["E711"]
    bad = api.get("/api/codehealth/findings/", {"severity": "huge"})
    assert bad.status_code == 400 and "severity" in bad.json()


def test_finding_actions_need_their_fields_and_change_the_state(
    api: APIClient, scanned: Repository
) -> None:
    finding = Finding.objects.filter(rule="F401").first()
    assert finding is not None
    url = f"/api/codehealth/findings/{finding.pk}"

    missing = api.post(f"{url}/accept/", {}, format="json")
    assert missing.status_code == 400 and {"reason", "until"} <= set(missing.json())
    until = (timezone.now() + timedelta(days=30)).isoformat()
    accepted = api.post(f"{url}/accept/", {"reason": "vendored", "until": until}, format="json")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    assert api.post(f"{url}/reopen/", {}, format="json").json()["state"] == "open"
    fp = api.post(f"{url}/false-positive/", {"reason": "side effect"}, format="json")
    assert fp.json()["state"] == FindingState.FALSE_POSITIVE
    task = api.post(f"{url}/task/")
    assert task.status_code == 201 and task.json()["kind"] == "agent"
    assert api.post("/api/codehealth/findings/999999/accept/", {}, format="json").status_code == 404


def test_auto_prs_are_proposed_by_staff_and_merged_by_those_allowed(
    api: APIClient, staff_api: APIClient, scanned: Repository
) -> None:
    base = {"repository": scanned.name, "title": "x", "diff": PATCH}
    assert api.post("/api/codehealth/autoprs/", base, format="json").status_code == 403

    refused = staff_api.post("/api/codehealth/autoprs/", base, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "patch_refused"

    fix = staff_api.post(
        "/api/codehealth/autoprs/autofix/",
        {"repository": scanned.name, "rule": "F401"},
        format="json",
    )
    assert fix.status_code == 201
    autopr = AutoPR.objects.get(pk=fix.json()["id"])
    build(autopr)
    assert api.post(f"/api/codehealth/autoprs/{autopr.pk}/merge/").status_code == 403

    merged = staff_api.post(f"/api/codehealth/autoprs/{autopr.pk}/merge/")
    assert merged.status_code == 200 and merged.json()["state"] == "merged"
    listed = api.get("/api/codehealth/autoprs/", {"state": "merged"}).json()["results"]
    assert [a["id"] for a in listed] == [autopr.pk] and "-import os" in listed[0]["diff"]


def test_the_dependency_audit_says_no_data_rather_than_zero(
    api: APIClient, scanned: Repository
) -> None:
    parts = api.get(f"/api/codehealth/repositories/{scanned.pk}/dependencies/").json()

    by_tool = {p["tool"]: p for p in parts}
    assert set(by_tool) == {"advisories", "outdated", "deptry"}
    assert by_tool["advisories"]["open"] is None and by_tool["advisories"]["why"]
    assert api.get("/api/codehealth/repositories/999999/dependencies/").status_code == 404
