"""The weekly report: weeks in UTC, what a week counts (new, fixed, reopened by kind and
severity, open at its end against the week before), auto-PRs, expiring acceptances, the
schedule's "once per week", and the Markdown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from codehealth.models import AutoPR, AutoPRState, Finding, Repository, Scan, WeeklyReport
from codehealth.services import accept_finding
from codehealth.services.weekly import (
    last_complete_week,
    week_bounds,
    week_start_of,
    write_due_reports,
    write_weekly_report,
)
from codehealth.services.weekly_markdown import weekly_markdown
from engine.services.history import system_actor
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")
WEEK = date(2026, 11, 23)  # a Monday
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # the Wednesday of the week after


def finished(done: Scan, at: datetime) -> Scan:
    Scan.objects.filter(pk=done.pk).update(finished_at=at)
    done.refresh_from_db()
    return done


def test_weeks_run_monday_to_monday_in_utc() -> None:
    assert week_start_of(datetime(2026, 11, 29, 23, 59, tzinfo=UTC)) == WEEK
    assert week_start_of(datetime(2026, 11, 30, 0, 0, tzinfo=UTC)) == WEEK + timedelta(days=7)
    assert week_start_of(date(2026, 11, 25)) == WEEK
    starts, ends = week_bounds(WEEK)
    assert starts == datetime(2026, 11, 23, tzinfo=UTC) and ends - starts == timedelta(days=7)
    assert last_complete_week(NOW) == WEEK


@pytest.fixture
def two_weeks(make_repo: Callable[..., GitRepo]) -> tuple[Repository, GitRepo]:
    """One finding the week before; in the week: it is fixed and two lint findings and a
    type-unrelated one are new."""
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    finished(scan(repository), datetime(2026, 11, 18, 12, tzinfo=UTC))
    repo.write("app.py", "import sys\nimport json\n\n\ndef f(a=[]):\n    return a\n")
    finished(scan(repository, repo.commit("swap imports")), datetime(2026, 11, 25, 12, tzinfo=UTC))
    return repository, repo


def test_a_week_counts_new_fixed_and_open_against_the_week_before(
    two_weeks: tuple[Repository, GitRepo],
) -> None:
    repository, _ = two_weeks

    report = write_weekly_report(repository=repository, week_start=WEEK, actor=ACTOR, now=NOW)

    assert report.scans == 1
    assert (report.new_total, report.fixed_total, report.reopened_total) == (3, 1, 0)
    assert report.open_total == 3 and report.open_change == 2
    sections = report.sections
    assert sections["new"] == {"lint": {"medium": 3}}
    assert sections["fixed"] == {"lint": {"medium": 1}}
    assert sections["open_by_kind"] == {"lint": 3}
    assert sections["previous_open"] == 1
    assert sections["top_new_rules"][0] == {"tool": "ruff", "rule": "F401", "count": 2}
    assert [w["open"] for w in sections["trend"][-2:]] == [1, 3]
    assert sections["trend"][-1]["week"] == WEEK.isoformat()
    assert report.is_complete


def test_writing_a_week_again_replaces_its_report(
    two_weeks: tuple[Repository, GitRepo],
) -> None:
    repository, _ = two_weeks
    first = write_weekly_report(repository=repository, week_start=WEEK, actor=ACTOR, now=NOW)

    again = write_weekly_report(
        repository=repository, week_start=WEEK + timedelta(days=3), actor=system_actor("again")
    )

    assert again.pk == first.pk and WeeklyReport.objects.count() == 1
    assert again.generated_by == "system:again" and again.week_start == WEEK


def test_a_week_before_any_scan_has_no_open_figure_and_no_change(
    two_weeks: tuple[Repository, GitRepo],
) -> None:
    repository, _ = two_weeks
    report = write_weekly_report(
        repository=repository, week_start=WEEK - timedelta(days=14), actor=ACTOR, now=NOW
    )
    assert report.open_total is None and report.open_change is None and report.scans == 0
    assert "not scanned" in weekly_markdown(report)


def test_the_week_before_has_no_change_figure_when_nothing_was_scanned_before_it(
    two_weeks: tuple[Repository, GitRepo],
) -> None:
    repository, _ = two_weeks
    report = write_weekly_report(
        repository=repository, week_start=WEEK - timedelta(days=7), actor=ACTOR, now=NOW
    )
    assert report.open_total == 1 and report.open_change is None and report.new_total == 1


def test_auto_prs_of_the_week_and_acceptances_about_to_expire_are_listed(
    two_weeks: tuple[Repository, GitRepo],
) -> None:
    repository, _ = two_weeks
    inside = datetime(2026, 11, 24, 8, tzinfo=UTC)
    common = {"repository": repository, "target_branch": "main", "base_commit": "a" * 40}
    merged = AutoPR.objects.create(
        **common, kind="ruff_fix", key="F401", title="Fix F401", created_by="u",
        created_at=inside, state=AutoPRState.MERGED, decided_at=inside,
    )  # fmt: skip
    AutoPR.objects.create(
        **common, kind="ruff_fix", key="UP", title="Old one", created_by="u",
        created_at=inside - timedelta(days=30), state=AutoPRState.PROPOSED,
    )  # fmt: skip
    finding = Finding.objects.filter(state="open").order_by("id").first()
    assert finding is not None
    accept_finding(
        finding_id=finding.pk,
        reason="vendored",
        until=timezone.now() + timedelta(days=30),
        actor=ACTOR,
    )
    # As the report of that week saw it: expiring five days after the week's end.
    Finding.objects.filter(pk=finding.pk).update(accepted_until=datetime(2026, 12, 5, tzinfo=UTC))

    report = write_weekly_report(repository=repository, week_start=WEEK, actor=ACTOR, now=NOW)

    assert (report.autoprs_opened, report.autoprs_merged, report.autoprs_failed) == (1, 1, 0)
    assert [a["id"] for a in report.sections["autoprs"]["merged"]] == [merged.pk]
    assert [f["id"] for f in report.sections["expiring"]] == [finding.pk]


def test_the_schedule_writes_the_last_complete_week_once_per_enabled_repository(
    two_weeks: tuple[Repository, GitRepo], make_repo: Callable[..., GitRepo]
) -> None:
    repository, _ = two_weeks
    register(make_repo({"b.py": "x = 1\n"}, name="off"), name="off", enabled=False)
    monday = datetime(2026, 11, 30, 0, 5, tzinfo=UTC)

    written = write_due_reports(actor=ACTOR, now=monday)
    again = write_due_reports(actor=ACTOR, now=monday + timedelta(hours=5))

    assert [(r.repository.name, r.week_start) for r in written] == [(repository.name, WEEK)]
    assert again == []
    assert WeeklyReport.objects.get().is_complete


def test_the_markdown_holds_every_section_and_keeps_tables_whole(
    two_weeks: tuple[Repository, GitRepo],
) -> None:
    repository, _ = two_weeks
    report = write_weekly_report(repository=repository, week_start=WEEK, actor=ACTOR, now=NOW)
    report.sections["stale"] = [
        {
            "severity": "low",
            "tool": "vulture",
            "rule": "unused-function",
            "path": "a|b.py",
            "line": 3,
            "message": "unused\nfunction",
        }
    ]
    report.sections["top_new_rules"].append({"tool": "x", "rule": "a|b", "count": 1})

    text = weekly_markdown(report)

    for heading in (
        "## Summary",
        "## New, fixed and reopened by kind",
        "## Trend",
        "## Top new findings by rule",
        "## New stale code",
        "## Contract drift",
        "## Dependencies",
        "## Auto-PRs",
        "## Scanners",
        "## Accepted findings about to expire",
    ):
        assert heading in text, heading
    assert "| 3 | +2 | 3 | 1 | 0 |" in text
    assert "| Lint | 3 medium | 1 medium | 0 |" in text
    assert "| x | a\\|b | 1 |" in text
    assert "unused function" in text
    assert text.startswith(f"# Code health: {repository.name}, week of 2026-11-23\n")
