"""The daily scan: a scan queued for each enabled repository whose head moved, none for a
head already scanned or while one runs, and a repository that cannot be read says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codehealth.models import Scan
from codehealth.services import run_scan
from codehealth.services.daily import queue_daily_scan, queue_daily_scans
from codehealth.services.scans import SCAN_KIND
from engine.models import Task
from engine.services.history import system_actor
from tests.codehealth.conftest import register
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db
ACTOR = system_actor("codehealth.daily_scan")


def test_a_moved_head_is_queued_and_a_scanned_head_skipped(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)

    first = queue_daily_scan(repository, actor=ACTOR)

    assert first.outcome == "queued" and first.commit == repo.head()
    queued = Scan.objects.get(pk=first.scan)
    assert Task.objects.get(pk=queued.task_id).kind == SCAN_KIND
    assert queued.triggered_by == ACTOR
    while_running = queue_daily_scan(repository, actor=ACTOR)
    assert while_running.outcome == "skipped" and "under way" in while_running.reason

    run_scan(scan_id=queued.pk)
    assert queue_daily_scan(repository, actor=ACTOR).outcome == "skipped"
    assert Scan.objects.count() == 1

    repo.write("app.py", "import sys\n")
    head = repo.commit("move")
    moved = queue_daily_scan(repository, actor=ACTOR)
    assert moved.outcome == "queued" and moved.commit == head


def test_a_failed_scan_of_the_head_does_not_count_as_scanned(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    Scan.objects.create(repository=repository, commit=repo.head(), status="failed")

    assert queue_daily_scan(repository, actor=ACTOR).outcome == "queued"


def test_every_enabled_repository_and_only_those(
    make_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    register(make_repo({"a.py": "x = 1\n"}, name="a"), name="a")
    register(make_repo({"b.py": "x = 1\n"}, name="b"), name="b", enabled=False)
    gone = register(make_repo({"c.py": "x = 1\n"}, name="c"), name="c")
    gone.path = str(tmp_path / "nowhere")
    gone.save()

    outcomes = {o.repository: o for o in queue_daily_scans(actor=ACTOR)}

    assert set(outcomes) == {"a", "c"}
    assert outcomes["a"].outcome == "queued"
    assert outcomes["c"].outcome == "failed" and "cannot resolve main" in outcomes["c"].reason
    assert not Scan.objects.filter(repository=gone).exists()
