"""The code-health page and its buttons, served by Django."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from codehealth.models import AutoPR, Finding, FindingState, Repository, Scan
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo
from tests.codehealth.test_patches import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def repository(make_repo: Callable[..., GitRepo]) -> Repository:
    repo = make_repo({"app.py": "import os\nimport sys\n\n\ndef f(a=[]):\n    return a\n"})
    repository = register(repo, test_command="{python} -c pass")
    scan(repository)
    return repository


@pytest.fixture
def browser(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def test_the_page_shows_the_gate_counts_scanners_and_findings(
    browser: Client, repository: Repository
) -> None:
    assert browser.get(reverse("codehealth:page")).url == "/codehealth/r/project/"  # type: ignore[attr-defined]

    response = browser.get("/codehealth/r/project/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Passed" in page and 'data-severity="medium"' in page
    assert page.count('data-finding="') == 3
    assert 'data-tool="mypy"' in page and "the repository does not configure mypy" in page
    assert 'data-rule="F401"' in page  # a fixable rule, for staff
    assert "<script>" not in page and 'id="codehealth-config"' in page


def test_filters_narrow_the_table(browser: Client, repository: Repository) -> None:
    page = browser.get("/codehealth/r/project/", {"severity": "medium", "q": "sys"}).content
    assert page.decode().count('data-finding="') == 1


def test_accept_false_positive_and_task_buttons(browser: Client, repository: Repository) -> None:
    first, second, third = Finding.objects.order_by("line")
    back = "/codehealth/r/project/"

    browser.post(
        f"/codehealth/findings/{first.pk}/accept/",
        {"reason": "vendored", "until": "2999-01-01", "next": back},
    )
    browser.post(f"/codehealth/findings/{second.pk}/false_positive/", {"reason": "no"})
    browser.post(f"/codehealth/findings/{third.pk}/task/")
    refused = browser.post(
        f"/codehealth/findings/{first.pk}/accept/", {"until": "2999-01-01"}, follow=True
    )

    assert Finding.objects.get(pk=first.pk).state == FindingState.ACCEPTED
    assert Finding.objects.get(pk=first.pk).accepted_until.year == 2999  # type: ignore[union-attr]
    assert Finding.objects.get(pk=second.pk).state == FindingState.FALSE_POSITIVE
    assert Finding.objects.get(pk=third.pk).task is not None
    assert "needs a reason" in refused.content.decode()


def test_scan_now_progress_and_sarif(browser: Client, repository: Repository) -> None:
    browser.post("/codehealth/r/project/scan/")
    queued = Scan.objects.get(status="queued")

    progress = browser.get(f"/codehealth/scans/{queued.pk}/progress/").json()
    page = browser.get("/codehealth/r/project/").content.decode()
    sarif = browser.get(f"/codehealth/scans/{Scan.objects.filter(status='done').get().pk}/sarif/")

    assert progress == {
        "scan": queued.pk,
        "status": "queued",
        "progress": 0,
        "phase": "",
        "finished": False,
        "error": "",
    }
    assert f"/codehealth/scans/{queued.pk}/progress/" in page
    assert sarif["Content-Disposition"].endswith('.sarif"') and sarif.json()["version"] == "2.1.0"


def test_staff_propose_a_fix_and_merge_it_people_may_not(
    browser: Client, repository: Repository, user: Any
) -> None:
    browser.post("/codehealth/r/project/autofix/", {"rule": "F401"})
    autopr = AutoPR.objects.get()
    build(autopr)
    person = Client()
    person.force_login(user)

    person.post(f"/codehealth/autoprs/{autopr.pk}/merge/")
    assert AutoPR.objects.get().state == "proposed"
    browser.post(f"/codehealth/autoprs/{autopr.pk}/merge/")
    assert AutoPR.objects.get().state == "merged"
    assert browser.post(f"/codehealth/autoprs/{autopr.pk}/explode/").status_code == 404


def test_an_empty_install_explains_itself(browser: Client) -> None:
    page = browser.get("/codehealth/").content.decode()
    assert "No repository yet" in page


def test_open_the_line_shows_it_at_the_commit_last_scanned(
    browser: Client, repository: Repository
) -> None:
    finding = Finding.objects.get(rule="F401", line=2)
    commit = Scan.objects.get().commit
    page = browser.get("/codehealth/r/project/").content.decode()
    link = f"/codehealth/r/project/code/?commit={commit}&amp;path=app.py&amp;line=2#L2"
    assert link in page

    code = browser.get(
        "/codehealth/r/project/code/", {"commit": commit, "path": "app.py", "line": 2}
    )

    text = code.content.decode()
    assert code.status_code == 200
    assert '<tr id="L2" class="is-marked" aria-current="true">' in text
    assert "<pre>import sys</pre>" in text and finding.path in text
    missing = browser.get("/codehealth/r/project/code/", {"commit": commit, "path": "nope.py"})
    assert missing.status_code == 404 and "no file" in missing.content.decode()


def test_the_dependency_panel_says_no_data_rather_than_zero(
    browser: Client, make_repo: Callable[..., GitRepo]
) -> None:
    repository = register(make_repo({"requirements.txt": "requests==2.30.0\n"}, name="deps"))
    scan(repository)

    page = browser.get(f"/codehealth/r/{repository.name}/", {"tool": "advisories"}).content

    assert b'data-part="advisories"' in page
    assert b"no data" in page and b"no OSV snapshot imported" in page
    assert b'<option value="advisories" selected>' in page
