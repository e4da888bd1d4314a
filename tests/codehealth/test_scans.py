"""Scans: the baseline and new code, rule-set changes, reuse, failures, and the states a
scan moves findings through."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from codehealth.models import Finding, FindingState, Scan, ScanStatus, ToolRun, ToolRunStatus
from codehealth.services import (
    accept_finding,
    create_finding_task,
    mark_false_positive,
    run_scan,
    scan_now,
    start_scan,
)
from codehealth.services.executors import run_scan_task
from engine.executors import ExecutionContext, PermanentFailure
from engine.models import TaskState
from engine.services.history import system_actor
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import RUFF_CONFIG, GitRepo

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")


def test_the_first_scan_sets_the_baseline_and_later_lines_are_new_code(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    first = scan(repository)
    repository.refresh_from_db()
    assert repository.baseline_commit == first.commit
    old = Finding.objects.get()
    assert not old.is_new

    repo.write("app.py", "import os\nimport sys\n")
    second = scan(repository, repo.commit("add sys"))

    new = Finding.objects.exclude(pk=old.pk).get()
    assert new.is_new and not Finding.objects.get(pk=old.pk).is_new
    assert second.counts["new"] == {"medium": 1}
    assert second.counts["new_code"] == {"medium": 1}
    assert second.baseline == first.commit


def test_a_changed_rule_set_is_not_a_burst_of_new_findings(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo(
        {"app.py": "import os\n\n\ndef f(a=[]):\n    return a == None\n"},
        config='[tool.ruff.lint]\nselect = ["F"]\n',
    )
    repository = register(repo)
    scan(repository)

    repo.write("pyproject.toml", '[tool.ruff.lint]\nselect = ["F", "E711", "B006"]\n')
    changed = scan(repository, repo.commit("more rules"))

    run = changed.tool_runs.get(tool="ruff")
    assert run.ruleset_changed and run.previous_config_hash != run.config_hash
    assert changed.new_total == 0 and changed.ruleset_total == 2
    assert Finding.objects.filter(from_ruleset_change=True).count() == 2


def test_a_rescan_of_the_same_commit_and_tools_reuses_the_scan(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    first = scan(repository)

    again = scan(repository)

    assert again.reused_from == first
    assert all(run.duration_ms == 0 for run in again.tool_runs.all())
    assert again.counts["open"] == first.counts["open"]
    assert again.occurrences.count() == first.occurrences.count() == 1
    assert Finding.objects.get().last_seen_scan == again


def test_a_failed_tool_neither_sees_nor_fixes_its_findings(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    scan(repository)

    repo.write("pyproject.toml", '[tool.ruff.lint]\nselect = ["NOT-A-RULE"]\n')
    broken = scan(repository, repo.commit("bad config"))

    run = broken.tool_runs.get(tool="ruff")
    assert run.status == ToolRunStatus.FAILED and run.error
    assert Finding.objects.get().state == FindingState.OPEN
    assert broken.fixed_total == 0


def test_fixed_findings_close_their_task_and_false_positives_are_remembered(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\nimport sys\n"})
    repository = register(repo)
    scan(repository)
    with_task, ruled_out = Finding.objects.order_by("line")
    task = create_finding_task(finding_id=with_task.pk, actor=ACTOR)
    mark_false_positive(finding_id=ruled_out.pk, reason="needed for its side effect", actor=ACTOR)

    repo.write("app.py", "X = 1\n")
    scan(repository, repo.commit("both gone"))
    task.refresh_from_db()
    with_task.refresh_from_db()
    assert with_task.state == FindingState.FIXED
    assert task.state == TaskState.CANCELLED
    assert "fixed" in task.events.last().note  # type: ignore[union-attr]
    assert Finding.objects.get(pk=ruled_out.pk).state == FindingState.FALSE_POSITIVE

    repo.write("app.py", "import os\nimport sys\n")
    scan(repository, repo.commit("both back"))
    assert Finding.objects.get(pk=ruled_out.pk).state == FindingState.FALSE_POSITIVE
    assert Finding.objects.get(pk=with_task.pk).state == FindingState.REOPENED


def test_an_expired_acceptance_counts_again_at_the_next_scan(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    scan(repository)
    finding = Finding.objects.get()
    accept_finding(
        finding_id=finding.pk, reason="later", until=timezone.now() + timedelta(days=1), actor=ACTOR
    )
    assert scan(repository).counts["accepted"] == {"medium": 1}

    Finding.objects.filter(pk=finding.pk).update(accepted_until=timezone.now() - timedelta(hours=1))
    later = scan(repository)

    finding.refresh_from_db()
    assert finding.state == FindingState.OPEN and finding.accepted_until is None
    assert later.counts["open"] == {"medium": 1}


def test_a_scan_runs_as_an_engine_task_with_progress(make_repo: Callable[..., GitRepo]) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    queued = start_scan(repository=repository, actor=ACTOR)
    assert start_scan(repository=repository, actor=ACTOR) == queued  # one at a time
    assert queued.task is not None and queued.task.kind == "codehealth.scan"

    result = run_scan_task(
        ExecutionContext(
            task_id=queued.task.pk, kind="codehealth.scan", payload={"scan": queued.pk}, attempt=1
        )
    )

    queued.refresh_from_db()
    assert queued.status == ScanStatus.DONE and queued.progress == 100
    assert result["scan"] == queued.pk and result["counts"]["open"] == {"medium": 1}
    assert ToolRun.objects.filter(scan=queued, tool="mypy", status="skipped").exists()


def test_a_scan_of_a_vanished_checkout_fails_and_its_task_fails_for_good(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    queued = start_scan(repository=repository, actor=ACTOR)
    shutil.rmtree(repo.root)

    with pytest.raises(PermanentFailure, match="failed"):
        run_scan_task(
            ExecutionContext(
                task_id=queued.task_id or 0,
                kind="codehealth.scan",
                payload={"scan": queued.pk},
                attempt=1,
            )
        )
    queued.refresh_from_db()
    assert queued.status == ScanStatus.FAILED and "not a directory" in queued.error


def test_a_scan_handed_back_starts_over(make_repo: Callable[..., GitRepo]) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    half = Scan.objects.create(repository=repository, ref="main", status=ScanStatus.RUNNING)
    ToolRun.objects.create(scan=half, tool="ruff", status=ToolRunStatus.OK)

    done = run_scan(scan_id=half.pk)

    assert done.status == ScanStatus.DONE
    assert done.tool_runs.filter(tool="ruff").count() == 1


def test_nothing_to_lint_is_said(make_repo: Callable[..., GitRepo]) -> None:
    repo = make_repo({"README.md": "hello\n"}, config=RUFF_CONFIG)
    (repo.root / "pyproject.toml").unlink()
    repo.commit("no python")
    done = scan_now(repository=register(repo), actor=ACTOR)

    assert done.tool_runs.get(tool="ruff").skip_reason == "no Python files"


def test_a_scan_whose_task_died_does_not_block_the_next(make_repo: Callable[..., GitRepo]) -> None:
    repository = register(make_repo({"app.py": "import os\n"}))
    stuck = start_scan(repository=repository, actor=ACTOR)
    assert stuck.task is not None
    Scan.objects.filter(pk=stuck.pk).update(status=ScanStatus.RUNNING)
    type(stuck.task).objects.filter(pk=stuck.task.pk).update(state=TaskState.FAILED)

    fresh = start_scan(repository=repository, actor=ACTOR)

    stuck.refresh_from_db()
    assert fresh.pk != stuck.pk and fresh.status == ScanStatus.QUEUED
    assert stuck.status == ScanStatus.FAILED and "ended failed" in stuck.error
