"""Auto-PRs on GitHub, against the fake: the change is built and tested on the commit's
archive, published through the git data API and proposed as a draft pull request; the
limit and duplicates are counted on GitHub; GitHub's refusals land on the row; a secondary
limit during the writes is waited out; merging fast-forwards the base through the refs API
only when it did not move."""

from __future__ import annotations

from typing import Any

import pytest

from codehealth.errors import MergeRefused, PatchRefused
from codehealth.models import AutoPR, AutoPRState, Repository
from codehealth.services import autofix_rule, merge_autopr, propose_patch, reject_autopr
from codehealth.services.executors import run_autopr_task
from engine.executors import ExecutionContext, PermanentFailure
from engine.models import TaskState
from engine.services.history import system_actor
from tests.codehealth.conftest import FakeClock, push, scan
from tests.codehealth.fake_github import FakeGitHub, secondary_limit, validation_failed
from tests.codehealth.fake_github_replies import example
from tests.codehealth.gitrepo import RUFF_CONFIG

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
FILES = {"pyproject.toml": RUFF_CONFIG, "app.py": "A = 1\nB = 2\n", "README.md": "# Hi\n"}


@pytest.fixture
def base(github_api: FakeGitHub) -> str:
    return push(github_api, FILES)


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


def propose(repository: Repository, title: str = "Make B three") -> AutoPR:
    return propose_patch(repository=repository, diff=PATCH, title=title, actor=ACTOR)


def open_elsewhere(fake: FakeGitHub, branch: str, number: int) -> None:
    """A pull request opened on GitHub by someone else (another Juggernaut, a person)."""
    fake.refs[branch] = fake.refs["master"]
    row = example("pull-request-simple-items")[0]
    row.update(number=number, state="open", draft=True, merged_at=None, title=branch)
    row["head"].update(ref=branch, sha=fake.refs[branch])
    row["base"].update(ref="master", sha=fake.refs["master"])
    fake.pulls.append(row)


def test_a_patch_becomes_a_draft_pull_request_through_the_git_data_api(
    github_repository: Repository, github_api: FakeGitHub, base: str
) -> None:
    autopr = propose(github_repository)
    assert (autopr.state, autopr.base_commit, autopr.target_branch) == ("queued", base, "master")

    result = build(autopr)

    autopr.refresh_from_db()
    assert result["branch"] == autopr.branch == "juggernaut/fix/make-b-three"
    assert autopr.state == AutoPRState.PROPOSED and autopr.tests_passed is True
    head = github_api.commits[autopr.head_commit]
    assert head.parents == [base]
    assert github_api.files_at(autopr.head_commit) == {
        **{p: c.encode() for p, c in FILES.items()},
        "app.py": b"A = 1\nB = 3\n",
    }
    assert github_api.refs["juggernaut/fix/make-b-three"] == autopr.head_commit
    assert github_api.refs["master"] == base  # nothing merged
    (pull,) = github_api.pulls
    assert (pull["draft"], pull["head"]["ref"], pull["base"]["ref"]) == (
        True,
        "juggernaut/fix/make-b-three",
        "master",
    )
    assert autopr.external_number == pull["number"]
    assert autopr.external_url == pull["html_url"]
    assert "-B = 2\n+B = 3" in autopr.diff
    writes = [
        (r.method, r.path.split("/repos/octocat/Hello-World")[1]) for r in github_api.requests
    ]
    writes = [w for w in writes if w[0] != "GET"]
    assert writes == [
        ("POST", "/git/blobs"),
        ("POST", "/git/trees"),
        ("POST", "/git/commits"),
        ("POST", "/git/refs"),
        ("POST", "/pulls"),
    ]
    assert (
        github_api.sent("POST", "/git/trees")[0].body["base_tree"] == github_api.commits[base].tree
    )
    assert autopr.task is not None
    autopr.task.refresh_from_db()
    assert autopr.task.state == TaskState.WAITING_APPROVAL
    assert pull["html_url"] in autopr.task.approval_reason


def test_ruff_safe_fixes_of_a_github_repository_become_a_draft_pull_request(
    github_repository: Repository, github_api: FakeGitHub
) -> None:
    push(github_api, {"pyproject.toml": RUFF_CONFIG, "app.py": "import os\nA = 1\n"})
    scan(github_repository)

    autopr = autofix_rule(repository=github_repository, rule="F401", actor=ACTOR)
    build(autopr)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.PROPOSED, autopr.error
    assert github_api.files_at(autopr.head_commit)["app.py"] == b"A = 1\n"
    assert github_api.pulls[0]["head"]["ref"] == "juggernaut/fix/f401"


def test_the_sixth_open_pull_request_is_refused_counting_githubs(
    github_repository: Repository, github_api: FakeGitHub, base: str
) -> None:
    for number in range(5):
        open_elsewhere(github_api, f"juggernaut/fix/other-{number}", 100 + number)
    open_elsewhere(github_api, "feature/login", 200)  # not a change branch: not counted

    with pytest.raises(PatchRefused, match=r"5 open auto-PRs .*pull requests open on the host"):
        propose(github_repository)
    assert not AutoPR.objects.exists()

    github_api.pulls[0]["state"] = "closed"
    assert propose(github_repository).state == AutoPRState.QUEUED


def test_a_duplicate_of_an_open_pull_request_is_refused(
    github_repository: Repository, github_api: FakeGitHub, base: str
) -> None:
    open_elsewhere(github_api, "juggernaut/fix/make-b-three", 42)

    with pytest.raises(PatchRefused, match="pull request #42 for make-b-three is open"):
        propose(github_repository)


def test_a_pull_request_opened_while_building_refuses_the_change(
    github_repository: Repository, github_api: FakeGitHub, base: str
) -> None:
    autopr = propose(github_repository)
    open_elsewhere(github_api, "juggernaut/fix/make-b-three-7", 43)

    with pytest.raises(PermanentFailure, match="#43"):
        build(autopr)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.FAILED
    assert not github_api.sent("POST", "/git/refs")


def test_githubs_422_is_surfaced_on_the_auto_pr_and_nothing_is_left(
    github_repository: Repository, github_api: FakeGitHub, base: str
) -> None:
    autopr = propose(github_repository)
    github_api.script(
        validation_failed(
            [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": "Draft pull requests are not supported in this repository.",
                }
            ],
            path="/pulls",
            method="POST",
        )
    )

    with pytest.raises(PermanentFailure, match="refused"):
        build(autopr)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.FAILED
    assert "GitHub 422" in autopr.error and "Validation Failed" in autopr.error
    assert "Draft pull requests are not supported in this repository." in autopr.error
    assert "juggernaut/fix/make-b-three" not in github_api.refs  # the branch went too
    assert github_api.pulls == []


def test_a_secondary_limit_during_the_writes_is_waited_out(
    github_repository: Repository, github_api: FakeGitHub, clock: FakeClock, base: str
) -> None:
    autopr = propose(github_repository)
    github_api.script(secondary_limit(retry_after=30, path="/git/trees", method="POST"))

    build(autopr)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.PROPOSED
    assert 30 in clock.sleeps
    assert len(github_api.sent("POST", "/git/trees")) == 2
    assert github_api.most_writes_in_flight == 1


def test_merging_fast_forwards_the_base_on_github_and_the_pull_request_is_merged(
    github_repository: Repository, github_api: FakeGitHub, base: str, staff: Any
) -> None:
    autopr = propose(github_repository)
    build(autopr)

    merged = merge_autopr(autopr_id=autopr.pk, user=staff)

    assert merged.state == AutoPRState.MERGED
    assert github_api.refs["master"] == merged.head_commit
    (patch,) = github_api.sent("PATCH", "/git/refs/heads/master")
    assert patch.body == {"sha": merged.head_commit, "force": False}
    assert github_api.pulls[0]["merged_at"] and github_api.pulls[0]["state"] == "closed"


def test_a_base_that_moved_on_github_refuses_the_merge(
    github_repository: Repository, github_api: FakeGitHub, base: str, staff: Any
) -> None:
    autopr = propose(github_repository)
    build(autopr)
    moved = push(github_api, {**FILES, "other.py": "C = 3\n"})

    with pytest.raises(MergeRefused, match="moved on GitHub"):
        merge_autopr(autopr_id=autopr.pk, user=staff)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.PROPOSED and "moved" in autopr.error
    assert github_api.refs["master"] == moved
    assert not github_api.sent("PATCH", "/git/refs/heads/master")


def test_rejecting_closes_the_pull_request_and_deletes_its_branch(
    github_repository: Repository, github_api: FakeGitHub, base: str, staff: Any
) -> None:
    autopr = propose(github_repository)
    build(autopr)

    reject_autopr(autopr_id=autopr.pk, user=staff, note="not now")

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.REJECTED
    assert github_api.pulls[0]["state"] == "closed"
    assert "juggernaut/fix/make-b-three" not in github_api.refs
    assert github_api.sent("DELETE", "/git/refs/heads/juggernaut/fix/make-b-three")


def test_a_pull_request_merged_on_github_by_a_person_ends_the_auto_pr(
    github_repository: Repository, github_api: FakeGitHub, base: str
) -> None:
    autopr = propose(github_repository)
    build(autopr)
    github_api.pulls[0].update(state="closed", merged_at="2030-01-02T00:00:00Z")

    propose(github_repository, title="Something else")

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.MERGED
    assert autopr.decided_by == "system:codehealth-host"
    assert autopr.task is not None
    autopr.task.refresh_from_db()
    assert autopr.task.state == TaskState.CANCELLED


def test_the_tests_run_on_the_patched_archive_and_a_failure_publishes_nothing(
    github_repository: Repository, github_api: FakeGitHub, staff: Any
) -> None:
    push(github_api, {"pyproject.toml": RUFF_CONFIG, "app.py": "import os\nA = 1\n"})
    scan(github_repository)
    fixed_only = "import sys; sys.exit(open('app.py').read() != 'A = 1\\n')"
    github_repository.test_command = f'{{python}} -c "{fixed_only}"'
    github_repository.save()
    passed = autofix_rule(repository=github_repository, rule="F401", actor=ACTOR)
    build(passed)
    passed.refresh_from_db()
    assert passed.state == AutoPRState.PROPOSED and passed.tests_passed is True
    reject_autopr(autopr_id=passed.pk, user=staff, note="try again")
    writes_before = len([r for r in github_api.requests if r.method != "GET"])

    github_repository.test_command = '{python} -c "import sys; sys.exit(3)"'
    github_repository.save()
    failing = autofix_rule(repository=github_repository, rule="F401", actor=ACTOR)
    with pytest.raises(PermanentFailure, match="tests failed"):
        build(failing)

    failing.refresh_from_db()
    assert failing.state == AutoPRState.FAILED and "exited 3" in failing.error
    assert len([r for r in github_api.requests if r.method != "GET"]) == writes_before


def test_a_scan_follows_a_pull_request_closed_on_github(
    github_repository: Repository, github_api: FakeGitHub, base: str
) -> None:
    autopr = propose(github_repository)
    build(autopr)
    github_api.pulls[0]["state"] = "closed"  # a person closed it, unmerged

    scan(github_repository)

    autopr.refresh_from_db()
    assert autopr.state == AutoPRState.REJECTED
    assert autopr.error == "closed on the host without merging"
