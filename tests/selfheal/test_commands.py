"""`manage.py diagnose` and `manage.py repair`: their output and exit codes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engine.models import Task, TaskState
from selfheal.models import PlaybookExecution
from selfheal.reporting import EXIT_BUSY, EXIT_CRITICAL
from tests.selfheal.factories import blocked_on_done, stuck_running

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command(*args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def test_diagnose_prints_each_check_and_exits_0_without_a_critical() -> None:
    code, out = run("diagnose")

    execution = PlaybookExecution.objects.get()
    assert code == (EXIT_CRITICAL if execution.worst_severity == "critical" else 0)
    for check in ("database", "workers", "task_queue", "error_patterns", "resources"):
        assert check in out
    assert execution.triggered_by == "cli:diagnose"


def test_diagnose_exits_2_when_a_check_is_critical() -> None:
    stuck_running(20)

    code, out = run("diagnose")

    assert code == EXIT_CRITICAL
    assert "CRITICAL  task_queue" in out


def test_diagnose_json_is_the_execution() -> None:
    _, out = run("diagnose", "--json")

    body = json.loads(out)
    assert body["playbook"] == "diagnose"
    assert len(body["findings"]) == 6


def test_a_diagnosis_already_running_exits_3() -> None:
    PlaybookExecution.objects.create(playbook="diagnose", triggered_by="user:bob")

    code, _ = run("diagnose")

    assert code == EXIT_BUSY


def test_repair_dry_run_changes_nothing() -> None:
    blocked_on_done(3)

    _, out = run("repair", "--dry-run", "--json")

    body = json.loads(out)
    assert body["dry_run"] is True
    assert [a["status"] for a in body["actions"]] == ["planned"] * 3
    assert Task.objects.filter(state=TaskState.BLOCKED).count() == 3


def test_repair_that_leaves_a_critical_exits_2() -> None:
    stuck_running(26)

    code, out = run("repair")

    assert code == EXIT_CRITICAL
    assert "reset_stuck" in out
    assert Task.objects.filter(state=TaskState.RUNNING).count() == 21
