"""`manage.py codehealth_report`: the last complete week by default, a given week, a file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from codehealth.models import WeeklyReport
from codehealth.services.weekly import last_complete_week
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db


def test_prints_the_last_complete_weeks_markdown(make_repo: Callable[..., GitRepo]) -> None:
    scan(register(make_repo({"app.py": "import os\n"})))
    out = StringIO()

    call_command("codehealth_report", stdout=out)

    report = WeeklyReport.objects.get()
    assert report.week_start == last_complete_week()
    assert report.generated_by == "system:codehealth_report"
    assert out.getvalue().startswith(
        f"# Code health: project, week of {report.week_start:%Y-%m-%d}\n"
    )


def test_a_given_week_into_a_folder(make_repo: Callable[..., GitRepo], tmp_path: Path) -> None:
    register(make_repo({"app.py": "import os\n"}))
    out = StringIO()

    call_command(
        "codehealth_report",
        "--repo",
        "project",
        "--week",
        "2026-11-26",
        "--out",
        str(tmp_path),
        stdout=out,
    )

    written = tmp_path / "project-week-2026-11-23.md"
    assert written.read_text().startswith("# Code health: project, week of 2026-11-23")
    assert WeeklyReport.objects.get().week_start == date(2026, 11, 23)
    assert str(written) in out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo", "nope"], "no repository named 'nope'"),
        (["--week", "soon"], "--week wants a date"),
        ([], "no enabled repository"),
    ],
)
def test_refusals_name_the_problem(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("codehealth_report", *args)
