"""Writes for a pull request: git data, branches, draft PRs; one at a time, 422s explained."""

from __future__ import annotations

import copy
import json
import logging
import threading

import pytest
import requests

from codehealth.github import GitHubClient, GitHubError, GitHubRepo, ValidationFailed
from tests.codehealth.conftest import FakeClock
from tests.codehealth.fake_github import REPO, TOKEN, FakeGitHub, secondary_limit, zipped
from tests.codehealth.test_github_ci import SARIF


def test_a_change_becomes_a_branch_and_a_draft_pull_request(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    base = repo.commit("master")
    change = repo.commit_files(
        parent=base,
        files={"src/app.py": b"print('fixed')\n", "README.md": None, "new.txt": b"new\n"},
        message="Fix F401",
    )
    assert change.parents == (base.sha,)
    assert fake_github.trees[change.tree_sha].keys() == {"src/app.py", "new.txt"}
    assert fake_github.blobs[fake_github.trees[change.tree_sha]["src/app.py"]] == (
        b"print('fixed')\n"
    )
    ref = repo.set_branch(branch="juggernaut/fix/F401", sha=change.sha)
    assert (ref.ref, ref.sha) == ("refs/heads/juggernaut/fix/F401", change.sha)
    pull = repo.create_draft_pull_request(
        title="Fix F401", head="juggernaut/fix/F401", base="master", body="Safe fixes only."
    )
    assert (pull.number, pull.draft, pull.head_ref, pull.base_ref) == (
        1,
        True,
        "juggernaut/fix/F401",
        "master",
    )
    assert fake_github.sent("POST", "/pulls")[0].body["draft"] is True


def test_set_branch_moves_an_existing_branch_forward(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    base = repo.commit("master")
    first = repo.commit_files(parent=base, files={"a.txt": b"1"}, message="one")
    repo.set_branch(branch="juggernaut/fix/x", sha=first.sha)
    second = repo.commit_files(parent=first, files={"a.txt": b"2"}, message="two")
    assert repo.set_branch(branch="juggernaut/fix/x", sha=second.sha).sha == second.sha
    assert fake_github.refs["juggernaut/fix/x"] == second.sha


def test_a_move_that_is_no_fast_forward_is_refused_unless_forced(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    base = repo.commit("master")
    ahead = repo.commit_files(parent=base, files={"a.txt": b"1"}, message="ahead")
    repo.set_branch(branch="topic", sha=ahead.sha)
    with pytest.raises(ValidationFailed) as caught:
        repo.update_ref(branch="topic", sha=base.sha)
    assert caught.value.status == 422
    assert caught.value.message == "Update is not a fast forward"
    assert repo.update_ref(branch="topic", sha=base.sha, force=True).sha == base.sha


def test_a_422_surfaces_githubs_fields(repo: GitHubRepo) -> None:
    with pytest.raises(ValidationFailed) as caught:
        repo.create_draft_pull_request(title="x", head="no-such-branch", base="master")
    error = caught.value
    assert error.message == "Validation Failed"
    assert error.errors == [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
    assert "[PullRequest.head invalid]" in str(error)


def test_a_duplicate_pull_request_is_githubs_custom_422(repo: GitHubRepo) -> None:
    base = repo.commit("master")
    repo.set_branch(branch="juggernaut/fix/E501", sha=base.sha)
    repo.create_draft_pull_request(title="one", head="juggernaut/fix/E501", base="master")
    with pytest.raises(ValidationFailed) as caught:
        repo.create_draft_pull_request(title="two", head="juggernaut/fix/E501", base="master")
    assert caught.value.errors[0]["code"] == "custom"
    assert "A pull request already exists" in caught.value.errors[0]["message"]


def test_open_pull_requests_by_head_prefix_over_every_page(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    base = repo.commit("master")
    repo.set_branch(branch="juggernaut/fix/F401", sha=base.sha)
    repo.set_branch(branch="feature/login", sha=base.sha)
    repo.create_draft_pull_request(title="ours", head="juggernaut/fix/F401", base="master")
    repo.create_draft_pull_request(title="theirs", head="feature/login", base="master")
    filler = fake_github.pulls[-1]
    for number in range(130):
        fake_github.pulls.insert(0, copy.deepcopy(filler) | {"number": 100 + number})
    closed = copy.deepcopy(fake_github.pulls[-2]) | {"state": "closed", "number": 99}
    fake_github.pulls.append(closed)
    found = repo.open_pull_requests(head_prefix="juggernaut/fix/")
    assert [(p.title, p.head_ref) for p in found] == [("ours", "juggernaut/fix/F401")]
    assert len(fake_github.sent("GET", "/pulls")) == 2


def test_writes_reach_github_one_at_a_time(github: GitHubClient, fake_github: FakeGitHub) -> None:
    fake_github.write_delay = 0.05
    # The control: two writes sent side by side do overlap at the fake.
    url = f"{fake_github.base_url}/repos/{REPO}/git/blobs"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"content": "eA==", "encoding": "base64"}
    raw = [
        threading.Thread(target=requests.post, args=(url,), kwargs={"json": body, "headers": auth})
        for _ in range(2)
    ]
    for thread in raw:
        thread.start()
    for thread in raw:
        thread.join()
    assert fake_github.most_writes_in_flight == 2
    fake_github.most_writes_in_flight = 0
    # Two client instances with the same token share one gate, as GitHub counts per token.
    twin = GitHubClient(token=TOKEN, base_url=fake_github.base_url, write_interval=0)
    repos = [github.repo(REPO), twin.repo(REPO)]
    errors: list[BaseException] = []

    def write(repo: GitHubRepo, number: int) -> None:
        try:
            for step in range(3):
                repo.create_blob(f"{number}-{step}".encode())
        except BaseException as exc:  # the test reports it below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(repos[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(fake_github.sent("POST", "/git/blobs")) == 2 + 12
    assert fake_github.most_writes_in_flight == 1


def test_writes_are_spaced_by_the_write_interval(fake_github: FakeGitHub, clock: FakeClock) -> None:
    client = GitHubClient(
        token=TOKEN, base_url=fake_github.base_url, clock=clock.time, sleep=clock.sleep
    )
    repo = client.repo(REPO)
    repo.create_blob(b"one")
    repo.create_blob(b"two")
    assert clock.sleeps == [1.0]
    repo.repository()  # reads wait for no write
    assert clock.sleeps == [1.0]


def test_the_token_never_reaches_the_logs(
    repo: GitHubRepo, fake_github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    run_id = fake_github.add_workflow_run(
        artifacts={"sarif": zipped({"r.sarif": json.dumps(SARIF).encode()})}
    )
    repo.repository()
    repo.repository()  # a 304
    repo.sarif_artifacts(run_id)
    fake_github.script(secondary_limit(retry_after=1))
    repo.ref_sha("master")
    failures: list[str] = []
    for attempt in (
        lambda: repo.create_draft_pull_request(title="x", head="nope", base="master"),
        lambda: repo.file("missing", ref="master"),
    ):
        with pytest.raises(GitHubError) as caught:
            attempt()
        failures.append(f"{caught.value!s} {caught.value!r}")
    assert f"GET /api/v3/repos/{REPO} -> 304" in caplog.text
    assert "waiting 1 s for GitHub: secondary rate limit" in caplog.text
    assert "/artifacts/" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN[4:] not in caplog.text
    assert not any(TOKEN in failure for failure in failures)
    assert TOKEN not in repr(repo) + repr(repo.http)


def test_branches_are_read_and_deleted_and_pull_requests_read_and_closed(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    assert repo.branch_sha("master") == fake_github.head
    assert repo.branch_sha("juggernaut/fix/none") is None
    repo.set_branch(branch="juggernaut/fix/x", sha=fake_github.head)
    pull = repo.create_draft_pull_request(title="x", head="juggernaut/fix/x", base="master")
    found = repo.pull_request(pull.number)
    assert (found.state, found.draft, found.merged, found.head_repo) == (
        "open",
        True,
        False,
        REPO,
    )
    assert repo.close_pull_request(pull.number).state == "closed"
    assert fake_github.sent("PATCH", f"/pulls/{pull.number}")[0].body == {"state": "closed"}
    assert repo.delete_branch("juggernaut/fix/x") is True
    assert repo.delete_branch("juggernaut/fix/x") is False  # GitHub's 422: gone already
    assert "juggernaut/fix/x" not in fake_github.refs
