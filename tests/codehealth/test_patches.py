"""Proposed patches: a branch with one commit built apart from the checkout, waiting for a
person; merged by a fast-forward refused if the target moved; rejected, it is gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from codehealth.errors import MergeRefused, PatchRefused
from codehealth.models import AutoPR, AutoPRState, Repository
from codehealth.services import merge_autopr, propose_patch, reject_autopr
from codehealth.services.executors import run_autopr_task
from engine.executors import ExecutionContext, PermanentFailure
from engine.models import TaskState
from engine.services import NotAllowed, approve_task
from engine.services.history import system_actor
from tests.codehealth.conftest import register
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")

PATCH = """\
diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
 A = 1
-B = 2
+B = 3
"""


@pytest.fixture
def repo(make_repo: Callable[..., GitRepo]) -> GitRepo:
    return make_repo({"app.py": "A = 1\nB = 2\n"})


@pytest.fixture
def repository(repo: GitRepo) -> Repository:
    return register(repo, test_command="{python} -c pass")


def build(autopr: AutoPR) -> dict[str, Any]:
    assert autopr.task_id is not None
    return run_autopr_task(
        ExecutionContext(
            task_id=autopr.task_id,
            kind="codehealth.autopr",
            payload={"autopr": autopr.pk},
            attempt=1,
        )
    )


def test_a_patch_becomes_a_branch_without_touching_the_checkout(
    repo: GitRepo, repository: Repository
) -> None:
    base = repo.head()
    (repo.root / "scratch.txt").write_text("someone's work in progress\n")
    autopr = propose_patch(repository=repository, diff=PATCH, title="Make B three", actor=ACTOR)
    assert autopr.state == AutoPRState.QUEUED and autopr.base_commit == base

    result = build(autopr)

    autopr.refresh_from_db()
    assert result["branch"] == autopr.branch == "juggernaut/fix/make-b-three"
    assert autopr.state == AutoPRState.PROPOSED and autopr.tests_passed is True
    assert repo.git("rev-list", "--count", f"{base}..{autopr.branch}") == "1"
    assert repo.git("show", f"{autopr.branch}:app.py") == "A = 1\nB = 3"
    assert repo.head() == base and repo.branch() == "main"
    assert (repo.root / "app.py").read_text() == "A = 1\nB = 2\n"
    assert repo.status() == "?? scratch.txt"
    assert "worktrees" not in repo.git("worktree", "list")
    assert autopr.task is not None
    autopr.task.refresh_from_db()
    assert autopr.task.state == TaskState.WAITING_APPROVAL
    assert "Merge juggernaut/fix/make-b-three into main" in autopr.task.approval_reason


def test_merging_fast_forwards_the_checked_out_branch(
    repo: GitRepo, repository: Repository, staff: Any
) -> None:
    autopr = propose_patch(repository=repository, diff=PATCH, title="Make B three", actor=ACTOR)
    build(autopr)

    merged = merge_autopr(autopr_id=autopr.pk, user=staff)

    assert merged.state == AutoPRState.MERGED and merged.decided_by == "user:olga"
    assert repo.head() == merged.head_commit == merged.merged_commit
    assert (repo.root / "app.py").read_text() == "A = 1\nB = 3\n"
    assert repo.status() == ""
    assert merged.task is not None
    merged.task.refresh_from_db()
    assert merged.task.state == TaskState.PENDING  # approved; the worker completes it
    assert build(merged) == {"autopr": merged.pk, "state": "merged", "merged": merged.head_commit}


def test_a_target_that_moved_refuses_the_merge(
    repo: GitRepo, repository: Repository, staff: Any
) -> None:
    autopr = propose_patch(repository=repository, diff=PATCH, title="Make B three", actor=ACTOR)
    build(autopr)
    repo.write("other.py", "C = 3\n")
    moved = repo.commit("someone else")

    with pytest.raises(MergeRefused, match="moved"):
        merge_autopr(autopr_id=autopr.pk, user=staff)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.PROPOSED and "moved" in autopr.error
    assert repo.head() == moved


def test_approving_the_task_in_the_engine_merges_as_the_approver(
    repo: GitRepo, repository: Repository, staff: Any
) -> None:
    repo.git("checkout", "-q", "-b", "elsewhere")  # main is not checked out anywhere
    autopr = propose_patch(
        repository=repository, diff=PATCH, title="Make B three", base="main", actor=ACTOR
    )
    build(autopr)
    assert autopr.task_id is not None
    approve_task(task_id=autopr.task_id, user=staff)

    build(autopr)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.MERGED
    assert repo.head("main") == autopr.head_commit
    assert repo.branch() == "elsewhere"


def test_rejecting_deletes_the_branch_and_ends_the_task(
    repo: GitRepo, repository: Repository, staff: Any
) -> None:
    autopr = propose_patch(repository=repository, diff=PATCH, title="Make B three", actor=ACTOR)
    build(autopr)

    reject_autopr(autopr_id=autopr.pk, user=staff, note="not now")

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.REJECTED
    assert repo.git("branch", "--list", "juggernaut/*") == ""
    assert autopr.task is not None
    autopr.task.refresh_from_db()
    assert autopr.task.state == TaskState.CANCELLED


def test_a_person_without_the_right_may_not_merge(repository: Repository, user: Any) -> None:
    autopr = propose_patch(repository=repository, diff=PATCH, title="Make B three", actor=ACTOR)
    build(autopr)

    with pytest.raises(NotAllowed):
        merge_autopr(autopr_id=autopr.pk, user=user)


def test_a_patch_that_does_not_apply_is_refused_at_once(repository: Repository) -> None:
    with pytest.raises(PatchRefused, match="does not apply"):
        propose_patch(
            repository=repository, diff=PATCH.replace("B = 2", "B = 9"), title="x", actor=ACTOR
        )
    assert not AutoPR.objects.exists()


def test_the_same_open_change_twice_and_the_sixth_open_one_are_refused(
    repository: Repository, settings: Any
) -> None:
    propose_patch(repository=repository, diff=PATCH, title="first", actor=ACTOR)
    with pytest.raises(PatchRefused, match="open already"):
        propose_patch(repository=repository, diff=PATCH, title="first", actor=ACTOR)
    for n in range(2, 6):
        propose_patch(repository=repository, diff=PATCH, title=f"change {n}", actor=ACTOR)

    with pytest.raises(PatchRefused, match="5 open auto-PRs"):
        propose_patch(repository=repository, diff=PATCH, title="sixth", actor=ACTOR)
    assert AutoPR.objects.open().count() == settings.CODEHEALTH_AUTOPR_MAX_OPEN == 5


def test_a_failing_build_fails_the_auto_pr_and_its_task(
    repo: GitRepo, repository: Repository
) -> None:
    autopr = propose_patch(repository=repository, diff=PATCH, title="Make B three", actor=ACTOR)
    repo.write("app.py", "A = 1\nB = 2\n")
    AutoPR.objects.filter(pk=autopr.pk).update(diff="not a diff at all\n")

    with pytest.raises(PermanentFailure, match="refused"):
        build(autopr)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.FAILED and "does not apply" in autopr.error
    assert repo.git("branch", "--list", "juggernaut/*") == ""
