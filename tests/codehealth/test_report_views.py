"""The weekly reports' pages (list, one, Markdown, write now) and, on the code-health page,
the trend chart and the tabs per kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from codehealth.models import Repository, Scan, WeeklyReport
from codehealth.services.weekly import last_complete_week, week_start_of, write_weekly_report
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db


@pytest.fixture
def repository(make_repo: Callable[..., GitRepo]) -> Repository:
    repo = make_repo({"app.py": "import os\nimport sys\n\n\ndef f(a=[]):\n    return a\n"})
    repository = register(repo)
    scan(repository)
    return repository


@pytest.fixture
def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def report(repository: Repository) -> WeeklyReport:
    return write_weekly_report(
        repository=repository, week_start=week_start_of(timezone.now()), actor="system:test"
    )


def test_the_pages_need_a_login(report: WeeklyReport) -> None:
    for path in (
        "/codehealth/reports/",
        f"/codehealth/reports/{report.pk}/",
        f"/codehealth/reports/{report.pk}/markdown/",
    ):
        response = Client().get(path)
        assert response.status_code == 302 and "/login/" in response["Location"], path


def test_the_list_shows_each_report_and_filters_by_repository(
    browser: Client, report: WeeklyReport
) -> None:
    page = browser.get("/codehealth/reports/").content.decode()
    assert f'data-report="{report.pk}"' in page and "so far" in page

    other = browser.get("/codehealth/reports/?repository=other").content.decode()
    assert f'data-report="{report.pk}"' not in other and "No report yet" in other


def test_a_new_user_sees_how_to_get_a_report(browser: Client) -> None:
    page = browser.get("/codehealth/reports/").content.decode()
    assert "Register a repository first" in page


def test_a_report_page_shows_its_figures_and_chart(browser: Client, report: WeeklyReport) -> None:
    response = browser.get(f"/codehealth/reports/{report.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<svg class="ch-trend-svg" id="report-chart"' in page
    assert 'data-kind-row="Lint"' in page and "3 medium" in page
    assert "<script>" not in page


def test_the_markdown_downloads_as_a_file(browser: Client, report: WeeklyReport) -> None:
    response = browser.get(f"/codehealth/reports/{report.pk}/markdown/")

    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{report.markdown_filename}"'
    assert response.content.decode().startswith("# Code health: project, week of ")


def test_write_now_writes_last_week_or_this_week_so_far(
    browser: Client, repository: Repository
) -> None:
    response = browser.post("/codehealth/reports/write/", {"repository": "project"})
    last = WeeklyReport.objects.get()
    assert last.week_start == last_complete_week() and last.generated_by == "user:alice"
    assert response["Location"] == f"/codehealth/reports/{last.pk}/"

    browser.post("/codehealth/reports/write/", {"repository": "project", "week": "current"})
    assert WeeklyReport.objects.filter(week_start=week_start_of(timezone.now())).exists()
    assert browser.post("/codehealth/reports/write/", {"repository": "nope"}).status_code == 404


def test_the_code_health_page_draws_the_trend_and_a_tab_per_kind(
    browser: Client, repository: Repository
) -> None:
    earlier = Scan.objects.get()
    Scan.objects.create(
        repository=repository,
        status="done",
        commit=earlier.commit,
        finished_at=timezone.now() - timedelta(days=3),
        counts={"open": {"medium": 1}, "open_by_kind": {"lint": 1}},
    )

    page = browser.get("/codehealth/r/project/").content.decode()

    assert '<svg class="ch-trend-svg" id="trend-chart"' in page
    assert page.count('class="ch-point"') == 2
    assert 'data-series="medium"' in page
    assert 'data-kind="lint" aria-current="page"' not in page
    assert 'href="?kind=lint#findings"' in page

    lint = browser.get("/codehealth/r/project/?kind=lint").content.decode()
    assert 'data-kind="lint" aria-current="page"' in lint and 'data-series="lint"' in lint
    stale = browser.get("/codehealth/r/project/?kind=stale").content.decode()
    assert 'id="trend-chart"' in stale  # zero open stale findings is a figure, drawn
    assert "No finding matches these filters." in stale


def test_a_kind_tab_keeps_the_other_filters(browser: Client, repository: Repository) -> None:
    page = browser.get("/codehealth/r/project/?severity=medium&state=&new=1").content.decode()
    assert 'href="?kind=type&amp;severity=medium&amp;state=&amp;new=1#findings"' in page
