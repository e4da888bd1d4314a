"""The code-health page in a real browser: findings, their actions, a scan's progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from codehealth.models import Finding, FindingState, Repository, RepositoryKind, Scan
from codehealth.repositories import github_access
from codehealth.services import propose_patch, start_scan
from engine.services.history import system_actor
from tests.codehealth.conftest import push, register, scan
from tests.codehealth.fake_github import REPO, TOKEN, FakeGitHub
from tests.codehealth.gitrepo import RUFF_CONFIG, python_repo
from tests.codehealth.test_github_autopr import PATCH, build

pytestmark = pytest.mark.browser


@pytest.fixture
def repository(settings: Any, tmp_path: Path) -> Any:
    settings.CODEHEALTH_WORK_DIR = tmp_path / "work"
    repo = python_repo(
        tmp_path / "shop", {"shop.py": "import os\n\n\ndef pay(a=[]):\n    return a\n"}
    )
    repository = register(repo, name="shop")
    scan(repository)
    return repository


def _sign_in(page: Any, live_server: Any, django_user_model: Any) -> None:
    django_user_model.objects.create_user(username="ravi", password="pw-ravi-123")
    page.goto(live_server.url + "/codehealth/")
    page.fill("input[name=username]", "ravi")
    page.fill("input[name=password]", "pw-ravi-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#findings")


def test_a_finding_is_accepted_with_a_reason_and_an_expiry(
    live_server: Any, page: Any, django_user_model: Any, repository: Any
) -> None:
    _sign_in(page, live_server, django_user_model)

    assert page.inner_text("#gate .tile-value") == "Passed"
    assert page.locator("tr[data-finding]").count() == 2
    row = page.locator("tr[data-finding]", has_text="F401")
    row.locator("summary[data-action=accept-open]").click()
    row.get_by_label("Reason to accept").fill("vendored module")
    row.locator("button[data-action=accept]").click()
    page.wait_for_selector(".msg-success")

    finding = Finding.objects.get(rule="F401")
    assert finding.state == FindingState.ACCEPTED and finding.state_reason == "vendored module"
    assert "Accepted" in page.locator("tr[data-finding]", has_text="F401").inner_text()


def test_a_running_scan_shows_its_progress_and_the_page_updates_when_it_ends(
    live_server: Any, page: Any, django_user_model: Any, repository: Any
) -> None:
    running = start_scan(repository=repository, actor=system_actor("test"))
    Scan.objects.filter(pk=running.pk).update(status="running", progress=40, phase="running ruff")
    _sign_in(page, live_server, django_user_model)
    page.wait_for_function("document.getElementById('scan-bar').value === 40")
    assert "running ruff" in page.inner_text("#scan-phase")
    assert page.locator("button[data-action=scan]").count() == 0

    Scan.objects.filter(pk=running.pk).update(
        status="done", progress=100, phase="done", finished_at=timezone.now()
    )

    page.wait_for_selector("#scan-progress", state="hidden", timeout=10_000)
    assert page.locator("button[data-action=scan]").is_visible()


def test_open_the_line_shows_the_code_view_at_the_scanned_commit(
    live_server: Any, page: Any, django_user_model: Any, repository: Any, tmp_path: Path
) -> None:
    _sign_in(page, live_server, django_user_model)

    row = page.locator("tr[data-finding]", has_text="F401")
    row.locator("a[data-action=open-line]").click()
    page.wait_for_selector("tr.is-marked")

    assert page.inner_text("tr.is-marked td.ch-code-text") == "import os"
    assert page.evaluate("location.hash") == "#L1"
    page.screenshot(path=str(tmp_path / "codehealth-code-view.png"), full_page=True)


def test_a_github_repository_shows_what_its_ci_said_and_its_draft_pull_request(
    live_server: Any,
    page: Any,
    django_user_model: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeGitHub().start()
    try:
        settings.CODEHEALTH_WORK_DIR = tmp_path / "work"
        settings.GITHUB_API_URL = fake.base_url
        monkeypatch.setattr(github_access, "SLEEP", lambda seconds: None)
        push(fake, {"pyproject.toml": RUFF_CONFIG, "app.py": "import os\nA = 1\nB = 2\n"})
        fake.add_check_run(
            name="lint",
            notes=[{"path": "app.py", "start_line": 2, "end_line": 2, "title": "W9"}],
        )
        fake.add_check_run(
            name="typecheck",
            notes=[{"path": "app.py", "start_line": 3, "end_line": 3}] * 50,
        )
        repository = Repository.objects.create(
            name="hello",
            kind=RepositoryKind.GITHUB,
            github_name=REPO,
            default_branch="master",
            token=TOKEN,
            test_command="{python} -c pass",
        )
        scan(repository)
        autopr = propose_patch(
            repository=repository,
            diff=PATCH.replace("@@ -1,2 +1,2 @@", "@@ -2,2 +2,2 @@"),
            title="Make B three",
            actor=system_actor("test"),
        )
        build(autopr)
        _sign_in(page, live_server, django_user_model)

        link = page.locator("tr[data-finding]", has_text="F401").locator("a[data-action=open-line]")
        assert link.inner_text() == "on GitHub"
        assert link.get_attribute("href").endswith(f"/blob/{fake.head}/app.py#L1")
        assert "reported by GitHub" in page.inner_text("tr[data-tool=lint]")
        assert "partial: GitHub Actions keeps at most 50" in page.inner_text(
            "tr[data-tool=typecheck]"
        )
        assert "no access" not in page.inner_text("#scanners")
        pull = page.locator("a[data-action=pull-request]")
        assert pull.inner_text() == "draft PR #1"
        assert TOKEN not in page.content()
        page.screenshot(path=str(tmp_path / "codehealth-github.png"))
    finally:
        fake.stop()


def test_stale_code_is_filtered_by_kind_with_its_confidence_and_evidence(
    live_server: Any, page: Any, django_user_model: Any, settings: Any, tmp_path: Path
) -> None:
    settings.CODEHEALTH_WORK_DIR = tmp_path / "work"
    repo = python_repo(
        tmp_path / "stale",
        {
            "pkg/__init__.py": "",
            "pkg/helpers.py": "import os\n\n\ndef forgotten():\n    return 1\n",
        },
        config=RUFF_CONFIG.split("# These repositories")[0],
    )
    scan(register(repo, name="stale"))
    _sign_in(page, live_server, django_user_model)
    page.goto(live_server.url + "/codehealth/r/stale/")

    page.select_option("select[name=kind]", "stale")
    page.click("form.ch-filters button[type=submit]")
    page.wait_for_url("**kind=stale**")

    rows = page.locator("tr[data-finding]")
    assert rows.count() == 1
    row = rows.first
    assert "unused-function" in row.inner_text()
    assert row.locator("[data-confidence]").inner_text() == "high confidence"
    row.locator(".ch-evidence summary").click()
    evidence = row.locator(".ch-evidence li").all_inner_texts()
    assert evidence[0] == "vulture: unused function 'forgotten' (60% confidence)"
    assert "occurs nowhere else" in evidence[1]
    page.screenshot(path=str(tmp_path / "stale.png"), full_page=True)


def test_the_dependency_audit_says_no_data_then_shows_its_source(
    live_server: Any,
    page: Any,
    django_user_model: Any,
    settings: Any,
    tmp_path: Path,
) -> None:
    from codehealth.dependencies.osv import import_osv

    settings.CODEHEALTH_WORK_DIR = tmp_path / "work"
    settings.CODEHEALTH_PYPI_URL = settings.CODEHEALTH_NPM_URL = ""
    repo = python_repo(tmp_path / "deps", {"requirements.txt": "requests==2.30.0\n"})
    repository = register(repo, name="deps")
    scan(repository)
    _sign_in(page, live_server, django_user_model)

    vulnerabilities = page.locator("tr[data-part=advisories]")
    assert "no data" in vulnerabilities.inner_text()
    assert "no OSV snapshot imported" in vulnerabilities.inner_text()

    import_osv(Path(__file__).parents[1] / "codehealth" / "data" / "osv")
    scan(repository)
    page.reload()
    assert "OSV snapshot imported" in vulnerabilities.inner_text()
    vulnerabilities.locator("a").click()
    page.wait_for_selector("#findings")
    page.screenshot(path=str(tmp_path / "codehealth-dependencies.png"), full_page=True)
    assert page.locator("tr[data-finding]").count() == 1
    assert "GHSA-j8r2-6x86-q33q" in page.inner_text("tr[data-finding]")
    assert "requests 2.30.0" in page.inner_text("tr[data-finding]")
