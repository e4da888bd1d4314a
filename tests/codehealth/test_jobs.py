"""Code health's schedules: declared as data, installed with the others, each job locked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils.module_loading import import_string
from django_q.models import Schedule

from codehealth import jobs
from codehealth.models import Scan, WeeklyReport
from codehealth.schedules import SCHEDULES
from engine.schedules import install_schedules
from engine.services.locks import acquire_job_lock
from tests.codehealth.conftest import register
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db


def test_the_schedules_are_daily_real_functions_and_installed() -> None:
    names = {spec["name"]: spec for spec in SCHEDULES}
    assert set(names) == {"codehealth.daily_scan", "codehealth.weekly_report"}
    for spec in SCHEDULES:
        assert spec["minutes"] == 1440 and callable(import_string(spec["func"]))

    report = install_schedules()

    assert {"codehealth.daily_scan", "codehealth.weekly_report"} <= set(report.created)
    row = Schedule.objects.get(name="juggernaut:codehealth.daily_scan")
    assert row.func == "codehealth.jobs.daily_scan" and row.minutes == 1440


def test_the_jobs_queue_scans_and_write_reports(make_repo: Callable[..., GitRepo]) -> None:
    repository = register(make_repo({"app.py": "import os\n"}))

    scanned = jobs.daily_scan()
    written = jobs.weekly_report()

    assert scanned["repositories"][0]["outcome"] == "queued"
    assert Scan.objects.filter(repository=repository).count() == 1
    assert written["written"] == [
        {"report": WeeklyReport.objects.get().pk, "repository": repository.name}
    ]


@pytest.mark.parametrize(
    ("lock", "job"),
    [(jobs.DAILY_SCAN_LOCK, jobs.daily_scan), (jobs.WEEKLY_REPORT_LOCK, jobs.weekly_report)],
)
def test_a_job_does_not_overlap_itself(
    lock: str, job: Callable[[], dict[str, object]], make_repo: Callable[..., GitRepo]
) -> None:
    register(make_repo({"app.py": "import os\n"}))
    assert acquire_job_lock(lock, ttl_seconds=60)

    assert "skipped" in job()
    assert not Scan.objects.exists() and not WeeklyReport.objects.exists()
