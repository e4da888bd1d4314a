"""A GitHub repository's token goes to GitHub's API and nowhere else: not into the page, the
code view, the API, the admin, the rows a scan or an auto-PR writes, or the logs, also when
GitHub refuses it. The repository's own token wins over GITHUB_TOKEN."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from codehealth.models import AutoPR, Finding, Repository, RepositoryKind, Scan, ToolRun
from codehealth.services import propose_patch, scan_now
from engine.models import Task, TaskEvent
from engine.services.history import system_actor
from tests.codehealth.conftest import push, scan
from tests.codehealth.fake_github import REPO, TOKEN, FakeGitHub
from tests.codehealth.gitrepo import RUFF_CONFIG
from tests.codehealth.test_github_autopr import PATCH, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_the_token_is_never_shown_or_logged(
    github_repository: Repository,
    github_api: FakeGitHub,
    browser: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    push(github_api, {"pyproject.toml": RUFF_CONFIG, "app.py": "import os\nA = 1\nB = 2\n"})
    github_api.add_check_run(name="lint", annotations=0)
    scan(github_repository)
    autopr = propose_patch(
        repository=github_repository,
        diff=PATCH.replace("@@ -1,2 +1,2 @@", "@@ -2,2 +2,2 @@"),
        title="Make B three",
        actor=system_actor("test"),
    )
    build(autopr)
    autopr.refresh_from_db()
    assert autopr.external_url, autopr.error
    finding = Finding.objects.filter(repository=github_repository).first()
    assert finding is not None

    pages = [
        reverse("codehealth:repository", args=[github_repository.name]),
        reverse("codehealth:code", args=[github_repository.name])
        + f"?commit={github_api.head}&path=app.py&line=1",
        "/api/codehealth/repositories/",
        f"/api/codehealth/repositories/{github_repository.pk}/",
        "/api/codehealth/scans/",
        "/api/codehealth/findings/",
        f"/api/codehealth/findings/{finding.pk}/",
        "/api/codehealth/autoprs/",
        "/api/schema/",
        "/admin/codehealth/repository/",
        f"/admin/codehealth/repository/{github_repository.pk}/change/",
        f"/admin/codehealth/scan/{Scan.objects.first().pk}/change/",  # type: ignore[union-attr]
        "/admin/codehealth/toolrun/",
        f"/admin/codehealth/autopr/{autopr.pk}/change/",
        f"/admin/engine/task/{autopr.task_id}/change/",
    ]
    for url in pages:
        answer = browser.get(url)
        assert answer.status_code == 200, url
        assert TOKEN not in answer.content.decode(), url
    api = browser.get(f"/api/codehealth/repositories/{github_repository.pk}/").json()
    assert api["has_token"] is True and "token" not in api
    page = browser.get(pages[0]).content.decode()
    assert f"/octocat/Hello-World/blob/{github_api.head}/app.py#L1" in page  # open the line
    assert autopr.external_url in page and "reported by GitHub" in page
    code = browser.get(pages[1]).content.decode()
    assert 'id="L1" class="is-marked"' in code and "on GitHub" in code

    stored = " ".join(
        [
            *(str(row) for row in Scan.objects.values()),
            *(str(row) for row in ToolRun.objects.values()),
            *(str(row) for row in AutoPR.objects.values()),
            *(str(row) for row in Task.objects.values()),
            *(str(row) for row in TaskEvent.objects.values()),
        ]
    )
    assert TOKEN not in stored
    assert TOKEN not in caplog.text and TOKEN[4:20] not in caplog.text
    assert "GET /api/v3/repos/octocat/Hello-World" in caplog.text  # the log was written


def test_a_refused_token_fails_the_scan_with_githubs_words_only(
    github_repository: Repository, github_api: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    github_api.token = "ghp_the_right_one"

    failed = scan_now(repository=github_repository, actor=system_actor("test"))

    assert failed.status == "failed"
    assert "GitHub 401" in failed.error and "Bad credentials" in failed.error
    assert TOKEN not in failed.error and TOKEN not in caplog.text


def test_the_repositorys_token_wins_over_the_setting(github_api: FakeGitHub, settings: Any) -> None:
    settings.GITHUB_TOKEN = TOKEN
    shared = Repository.objects.create(
        name="shared", kind=RepositoryKind.GITHUB, github_name=REPO, default_branch="master"
    )
    assert scan(shared).commit == github_api.head
    own = Repository.objects.create(
        name="own", kind=RepositoryKind.GITHUB, github_name=REPO, token="ghp_x"
    )
    refused = scan_now(repository=own, actor=system_actor("test"))
    assert refused.status == "failed" and "Bad credentials" in refused.error
    assert {r.headers["Authorization"] for r in github_api.requests} == {
        f"Bearer {TOKEN}",
        "Bearer ghp_x",
    }
