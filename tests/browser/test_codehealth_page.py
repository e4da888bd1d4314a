"""The code-health page in a real browser: findings, their actions, a scan's progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from codehealth.models import Finding, FindingState, Scan
from codehealth.services import start_scan
from engine.services.history import system_actor
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import python_repo

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
