"""The admin: repositories with a write-only token; machine-written rows read-only, acted
on through actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from codehealth.dependencies.osv import import_osv
from codehealth.models import Advisory, Finding, FindingState, Repository, Scan, WeeklyReport
from codehealth.services.weekly import write_weekly_report
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def repository(make_repo: Callable[..., GitRepo]) -> Repository:
    repository = register(make_repo({"app.py": "import os\n"}), token="ghp_not_shown")
    scan(repository)
    return repository


def test_every_changelist_opens(admin_client_: Client, repository: Repository) -> None:
    write_weekly_report(repository=repository, week_start=date(2026, 11, 23), actor="system:t")
    import_osv(Path(__file__).parent / "data" / "osv")
    for model in (
        "repository",
        "scan",
        "toolrun",
        "finding",
        "findingoccurrence",
        "autopr",
        "weeklyreport",
        "osvimport",
        "advisory",
        "affectedpackage",
    ):
        assert admin_client_.get(f"/admin/codehealth/{model}/").status_code == 200, model
    advisory = Advisory.objects.get(osv_id="PYSEC-2023-74")
    shown = admin_client_.get(f"/admin/codehealth/advisory/{advisory.pk}/change/")
    assert b"requests" in shown.content
    page = admin_client_.get(f"/admin/codehealth/repository/{repository.pk}/change/")
    assert page.status_code == 200 and "ghp_not_shown" not in page.content.decode()
    assert (
        admin_client_.get(
            f"/admin/codehealth/finding/{Finding.objects.get().pk}/change/"
        ).status_code
        == 200
    )


def test_findings_are_read_only_and_actions_call_the_services(
    admin_client_: Client, repository: Repository
) -> None:
    finding = Finding.objects.get()
    assert admin_client_.get("/admin/codehealth/finding/add/").status_code == 403

    admin_client_.post(
        "/admin/codehealth/finding/",
        {"action": "mark_false_positive", "_selected_action": [finding.pk]},
    )

    finding.refresh_from_db()
    assert finding.state == FindingState.FALSE_POSITIVE
    assert finding.events.get().actor == "user:olga"


def test_scan_now_from_the_admin_queues_a_scan(
    admin_client_: Client, repository: Repository
) -> None:
    admin_client_.post(
        "/admin/codehealth/repository/",
        {"action": "scan_now", "_selected_action": [repository.pk]},
    )
    assert Scan.objects.filter(status="queued").count() == 1


def test_a_weekly_report_is_written_again_by_an_action(
    admin_client_: Client, repository: Repository
) -> None:
    report = write_weekly_report(
        repository=repository, week_start=date(2026, 11, 23), actor="system:t"
    )
    page = admin_client_.get(f"/admin/codehealth/weeklyreport/{report.pk}/change/")
    assert (
        page.status_code == 200
        and f"/codehealth/reports/{report.pk}/markdown/" in page.content.decode()
    )

    admin_client_.post(
        "/admin/codehealth/weeklyreport/",
        {"action": "write_again", "_selected_action": [report.pk]},
    )

    again = WeeklyReport.objects.get()
    assert again.pk == report.pk and again.generated_by == "user:olga"
