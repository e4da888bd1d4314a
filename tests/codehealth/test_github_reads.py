from __future__ import annotations

import io
import tarfile

import pytest

from codehealth.github import GitHubError, GitHubRepo, NotFound
from tests.codehealth.fake_github import FakeGitHub


def test_repository_reads_the_default_branch(repo: GitHubRepo) -> None:
    found = repo.repository()
    assert found.full_name == "octocat/Hello-World"
    assert found.default_branch == "master"


def test_every_request_pins_the_api_version_under_the_base_url(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    repo.repository()
    (request,) = fake_github.requests
    assert request.path == "/api/v3/repos/octocat/Hello-World"
    assert request.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert request.headers["Accept"] == "application/vnd.github+json"


def test_ref_sha_asks_for_the_sha_media_type(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    assert repo.ref_sha("master") == fake_github.head
    assert fake_github.requests[-1].headers["Accept"] == "application/vnd.github.sha"


def test_commit_names_its_tree_and_parents(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    child = fake_github.commit({"README.md": b"# Changed\n"}, parents=[fake_github.head])
    fake_github.refs["feature"] = child
    found = repo.commit("feature")
    assert found.sha == child
    assert found.tree_sha == fake_github.commits[child].tree
    assert found.parents == (fake_github.head,)


def test_an_unknown_ref_is_githubs_422(repo: GitHubRepo) -> None:
    with pytest.raises(GitHubError) as caught:
        repo.commit("no-such-branch")
    assert caught.value.status == 422
    assert "No commit found" in caught.value.message


def test_tree_is_recursive_and_says_when_truncated(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    tree = repo.tree(fake_github.head)
    assert [(e.path, e.type) for e in tree.entries] == [
        ("src", "tree"),
        ("README.md", "blob"),
        ("src/app.py", "blob"),
    ]
    assert tree.truncated is False
    fake_github.tree_truncated = True  # a changed answer has a new ETag: no 304 from the cache
    assert repo.tree(fake_github.head).truncated is True


def test_file_content_is_decoded_from_base64(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    found = repo.file("src/app.py", ref=fake_github.head)
    assert found.content == b"print('hi')\n"
    assert found.source == "contents"
    assert "ref=" + fake_github.head in fake_github.requests[-1].path


def test_a_file_past_one_megabyte_comes_from_the_blob_api(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    big = bytes(range(256)) * 5000  # 1.28 MB, not text
    sha = fake_github.commit({"data/big.bin": big})
    found = repo.file("data/big.bin", ref=sha)
    assert found.content == big
    assert found.source == "blob"
    assert fake_github.sent("GET", "/git/blobs/")


def test_a_directory_is_not_a_file(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match="a directory"):
        repo.file("src", ref=fake_github.head)


def test_a_missing_file_is_not_found(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    with pytest.raises(NotFound) as caught:
        repo.file("nope.txt", ref=fake_github.head)
    assert caught.value.status == 404
    assert caught.value.documentation_url == "https://docs.github.com/rest"


def test_compare_says_how_two_commits_relate_and_what_changed(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    base = fake_github.head
    head = fake_github.commit(
        {"README.md": b"# Hello\n", "src/main.py": b"print('hi')\n", "new.txt": b"x\n"},
        parents=[base],
    )
    compared = repo.compare(base, head)
    assert (compared.status, compared.ahead_by, compared.behind_by) == ("ahead", 1, 0)
    assert compared.merge_base == base
    assert [(f.filename, f.status, f.previous_filename) for f in compared.files] == [
        ("new.txt", "added", None),
        ("src/main.py", "renamed", "src/app.py"),
    ]
    assert compared.files[0].patch == "@@ -0,0 +1 @@\n+x"
    assert repo.compare(head, base).status == "behind"
    diff = repo.diff(base, head)
    assert "diff --git a/src/app.py b/src/main.py\nsimilarity index 100%\n" in diff
    assert "--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+x\n" in diff


def test_the_archive_of_a_commit_comes_through_the_redirect_without_the_token(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    data = repo.archive(fake_github.head, max_bytes=1_000_000)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = sorted(m.name for m in archive.getmembers())
    top = f"octocat-Hello-World-{fake_github.head[:7]}"
    assert names == [f"{top}/README.md", f"{top}/src/app.py"]
    assert fake_github.sent("GET", "/tarball/")[0].headers["Authorization"].startswith("Bearer")
    assert "Authorization" not in fake_github.artifact_host.requests[0].headers
