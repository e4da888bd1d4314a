"""The mechanical auto-fix: one ruff rule's safe fixes as one tested change, and the
guards that refuse it (unsafe fixes, failing tests, no test command)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from codehealth.errors import PatchRefused
from codehealth.models import AutoPR, AutoPRState, Finding, FindingState
from codehealth.services import autofix_rule, merge_autopr, reject_autopr
from engine.executors import PermanentFailure
from engine.services.history import system_actor
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo
from tests.codehealth.test_patches import build

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")
CODE = {
    "app.py": "import os\nimport sys\n\n\ndef f():\n    unused = 1\n    return 2\n",
    "lib.py": "import json\n",
}


@pytest.fixture
def repo(make_repo: Callable[..., GitRepo]) -> GitRepo:
    return make_repo(CODE)


def test_a_rules_safe_fixes_become_one_tested_change(repo: GitRepo, staff: Any) -> None:
    repository = register(repo, test_command="{python} -c pass")
    scan(repository)

    autopr = autofix_rule(repository=repository, rule="F401", actor=ACTOR)
    build(autopr)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.PROPOSED and autopr.tests_passed
    assert autopr.branch == "juggernaut/fix/f401"
    assert "-import os" in autopr.diff and "-import json" in autopr.diff
    assert "unused" not in autopr.diff  # F841 is another rule
    message = repo.git("log", "-1", "--format=%B", autopr.branch)
    assert "ruff check --select F401 --fix" in message and "ruff " in message

    merge_autopr(autopr_id=autopr.pk, user=staff)
    after = scan(repository, repo.head())
    assert not Finding.objects.filter(rule="F401").exclude(state=FindingState.FIXED).exists()
    assert after.fixed_total == 3
    assert Finding.objects.get(rule="F841").state == FindingState.OPEN


def test_the_same_base_gives_the_same_patch(repo: GitRepo, staff: Any) -> None:
    repository = register(repo, test_command="{python} -c pass")
    scan(repository)
    first = autofix_rule(repository=repository, rule="F401", actor=ACTOR)
    build(first)
    reject_autopr(autopr_id=first.pk, user=staff)

    second = autofix_rule(repository=repository, rule="F401", actor=ACTOR)
    build(second)

    first.refresh_from_db()
    second.refresh_from_db()
    assert second.base_commit == first.base_commit
    assert second.diff_sha256 == first.diff_sha256 and second.diff == first.diff


def test_an_unsafe_fix_is_refused(repo: GitRepo) -> None:
    repository = register(repo, test_command="{python} -c pass")
    scan(repository)

    with pytest.raises(PatchRefused, match="unsafe fixes are never applied"):
        autofix_rule(repository=repository, rule="F841", actor=ACTOR)
    assert not AutoPR.objects.exists()


def test_an_unsafe_fix_found_at_build_time_is_refused(repo: GitRepo) -> None:
    repository = register(repo, test_command="{python} -c pass")
    scan(repository)
    Finding.objects.filter(rule="F841").update(fix_applicability="safe")  # a stale view
    autopr = autofix_rule(repository=repository, rule="F841", actor=ACTOR)

    with pytest.raises(PermanentFailure, match="no safe fix"):
        build(autopr)
    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.FAILED


def test_failing_tests_refuse_the_change(repo: GitRepo) -> None:
    repository = register(repo, test_command="{python} -c 'raise SystemExit(3)'")
    scan(repository)
    autopr = autofix_rule(repository=repository, rule="F401", actor=ACTOR)

    with pytest.raises(PermanentFailure, match="tests failed"):
        build(autopr)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.FAILED and "exited 3" in autopr.error
    assert repo.git("branch", "--list", "juggernaut/*") == ""


def test_no_test_command_no_fix(repo: GitRepo) -> None:
    repository = register(repo)
    scan(repository)

    with pytest.raises(PatchRefused, match="no test command"):
        autofix_rule(repository=repository, rule="F401", actor=ACTOR)
