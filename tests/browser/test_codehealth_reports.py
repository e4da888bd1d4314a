"""The code-health page's trend chart and kind tabs, and the weekly report's pages, in a real
browser: the chart is drawn with no script, a report is written from its form, read, and
downloaded as Markdown."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from codehealth.models import Scan, WeeklyReport
from codehealth.services.weekly import week_start_of
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
    latest = scan(repository)
    for days, counts in ((9, {"medium": 5, "low": 1}), (4, {"medium": 3, "high": 1})):
        Scan.objects.create(
            repository=repository,
            status="done",
            commit=latest.commit,
            finished_at=timezone.now() - timedelta(days=days),
            counts={"open": counts, "open_by_kind": {"lint": sum(counts.values()) - 1, "type": 1}},
        )
    return repository


def _sign_in(page: Any, live_server: Any, django_user_model: Any, path: str) -> None:
    django_user_model.objects.create_user(username="ravi", password="pw-ravi-123")
    page.goto(live_server.url + path)
    page.fill("input[name=username]", "ravi")
    page.fill("input[name=password]", "pw-ravi-123")
    page.click("button[type=submit]")


def test_the_trend_chart_is_drawn_and_follows_the_kind_tab(
    live_server: Any, page: Any, django_user_model: Any, repository: Any, tmp_path: Path
) -> None:
    _sign_in(page, live_server, django_user_model, "/codehealth/r/shop/")
    chart = page.locator("#trend-chart")
    chart.wait_for()

    box = chart.bounding_box()
    assert box["width"] > 600 and box["height"] > 100
    assert page.locator("#trend-chart circle.ch-point").count() == 3
    assert page.locator("#trend-chart polygon[data-series=medium]").count() == 1
    first = page.locator("#trend-chart circle.ch-point title").first.text_content()
    assert ": 6 open (5 medium, 1 low)" in first
    page.screenshot(path=str(tmp_path / "codehealth-trend.png"), full_page=True)

    page.click("a.ch-tab[data-kind=lint]")
    page.wait_for_url("**/r/shop/?kind=lint#findings")
    assert page.locator("a.ch-tab.is-active").get_attribute("data-kind") == "lint"
    assert page.locator("#trend-chart polygon[data-series=lint]").count() == 1
    assert "Lint" in page.inner_text("#trend-title")
    assert page.locator("tr[data-finding]").count() == 2
    page.click("a.ch-tab[data-kind=type]")
    page.wait_for_selector("#findings .empty")
    page.screenshot(path=str(tmp_path / "codehealth-trend-type.png"), full_page=True)


def test_a_report_is_written_read_and_downloaded_as_markdown(
    live_server: Any, page: Any, django_user_model: Any, repository: Any, tmp_path: Path
) -> None:
    _sign_in(page, live_server, django_user_model, "/codehealth/reports/")
    page.wait_for_selector("#write-report")
    assert "No report yet" in page.inner_text("#reports")

    page.select_option("#write-report select[name=week]", "current")
    page.click("button[data-action=write-report]")
    page.wait_for_selector("#report-summary")

    report = WeeklyReport.objects.get()
    assert page.url.endswith(f"/codehealth/reports/{report.pk}/")
    assert page.inner_text("[data-figure=open] .tile-value") == "2"
    assert page.inner_text("[data-figure=new] .tile-value") == "2"
    now = timezone.now()
    weeks = {week_start_of(now - timedelta(days=d)) for d in (0, 4, 9)}
    assert page.locator("#report-chart circle.ch-point").count() == len(weeks)
    assert "Lint" in page.inner_text("#report-kinds")
    page.screenshot(path=str(tmp_path / "codehealth-report.png"), full_page=True)

    with page.expect_download() as download:
        page.click("a[data-action=markdown]")
    saved = tmp_path / "report.md"
    download.value.save_as(saved)
    assert download.value.suggested_filename == report.markdown_filename
    assert saved.read_text().startswith("# Code health: shop, week of ")

    page.goto(live_server.url + "/codehealth/reports/")
    assert page.locator(f"tr[data-report='{report.pk}']").is_visible()
    page.screenshot(path=str(tmp_path / "codehealth-reports.png"), full_page=True)
