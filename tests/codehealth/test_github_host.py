"""The GitHub repository kind reads a commit through the REST API, against the fake GitHub:
the tree (walked when GitHub cuts it), files, the tarball checkout behind a 302, the compare
API for diffs, renames, ancestry and new lines, and a search that says how it searched."""

from __future__ import annotations

import random
from typing import Any

import pytest

from codehealth.errors import (
    CodehealthError,
    NotInRepository,
    PatchRefused,
    RepositoryUnavailable,
)
from codehealth.models import Repository
from codehealth.repositories import open_repository
from codehealth.repositories.github import GitHubHost, added_lines, github_line_url
from codehealth.repositories.github_access import web_url
from tests.codehealth.conftest import push
from tests.codehealth.fake_github import TOKEN, FakeGitHub, error

pytestmark = pytest.mark.django_db

FILES = {
    "README.md": "# Hello\n",
    "app/models.py": "import os\n\n\nclass Thing:\n    name = 'x'\n",
    "app/views.py": "def index():\n    return 'hi'\n",
    "lib/deep/util.py": "VALUE = 1\n",
}


@pytest.fixture
def host(github_repository: Repository, github_api: FakeGitHub) -> GitHubHost:
    push(github_api, FILES)
    opened = open_repository(github_repository)
    assert isinstance(opened, GitHubHost)
    return opened


def test_it_resolves_refs_and_lists_and_reads_files_at_a_commit(
    host: GitHubHost, github_api: FakeGitHub
) -> None:
    head = host.resolve("master")
    assert head == github_api.head
    assert host.list_files(head) == sorted(FILES)
    assert host.read_file(head, "app/views.py") == FILES["app/views.py"].encode()
    assert host.read_files(head, ["README.md", "missing.txt"]) == {"README.md": b"# Hello\n"}
    with pytest.raises(NotInRepository):
        host.read_file(head, "missing.txt")
    with pytest.raises(NotInRepository, match="no commit"):
        host.resolve("no-such-branch")


def test_a_tree_github_cut_is_walked_folder_by_folder(
    host: GitHubHost, github_api: FakeGitHub
) -> None:
    github_api.tree_truncated = True  # every recursive listing comes back cut

    assert host.list_files(github_api.head) == sorted(FILES)
    listings = github_api.sent("GET", "/git/trees/")
    assert any("recursive=1" not in r.path for r in listings)


def test_blobs_are_fetched_once(host: GitHubHost, github_api: FakeGitHub) -> None:
    head = host.resolve("master")
    host.read_file(head, "README.md")
    again = open_repository(host_repository(host))
    again.read_file(head, "README.md")
    assert len(github_api.sent("GET", "/git/blobs/")) == 1


def host_repository(host: GitHubHost) -> Repository:
    return Repository.objects.get(github_name=host.name)


def test_the_checkout_is_the_tarball_behind_a_302_without_the_token(
    host: GitHubHost, github_api: FakeGitHub
) -> None:
    with host.checkout(github_api.head) as root:
        found = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        assert found == sorted(FILES)
        assert (root / "app/models.py").read_text() == FILES["app/models.py"]
    assert not root.exists()
    (download,) = github_api.artifact_host.requests
    assert download.path.startswith("/artifacts/octocat-Hello-World-")
    assert "Authorization" not in download.headers
    assert all(TOKEN not in value for value in download.headers.values())


def test_a_checkout_past_the_limit_is_refused(
    host: GitHubHost, github_api: FakeGitHub, settings: Any
) -> None:
    settings.CODEHEALTH_GITHUB_MAX_CHECKOUT_MB = 1
    head = push(github_api, {**FILES, "data.bin": bytes(range(256)) * 8192 * 3})  # zips small
    with pytest.raises(RepositoryUnavailable, match="unpacks to 6 MB"), host.checkout(head):
        pass
    head = push(github_api, {**FILES, "noise.bin": random.Random(0).randbytes(1_200_000)})
    too_big = pytest.raises(RepositoryUnavailable, match="larger than 1048576 bytes")
    with too_big, host.checkout(head):
        pass


def test_diff_renames_and_changed_paths_come_from_the_comparison(
    host: GitHubHost, github_api: FakeGitHub
) -> None:
    base = github_api.head
    moved = dict(FILES)
    moved["app/things.py"] = moved.pop("app/models.py")
    moved["app/views.py"] = "def index():\n    return 'hello'\n"
    head = push(github_api, moved)

    assert host.renames(base, head) == {"app/models.py": "app/things.py"}
    assert host.changed_paths(base, head) == {"app/models.py", "app/things.py", "app/views.py"}
    diff = host.diff(base, head, ["app/views.py"])
    assert diff.startswith("diff --git a/app/views.py b/app/views.py\n")
    assert "-    return 'hi'\n+    return 'hello'\n" in diff
    assert "things.py" not in diff
    assert host.is_ancestor(base, head) is True
    assert host.is_ancestor(head, base) is False
    accepted = {r.headers["Accept"] for r in github_api.sent("GET", "/compare/")}
    assert accepted == {"application/vnd.github.diff", "application/vnd.github+json"}


def test_lines_a_comparison_adds_are_new_since_the_baseline(
    host: GitHubHost, github_api: FakeGitHub
) -> None:
    base = github_api.head
    head = push(
        github_api,
        {
            **FILES,
            "app/views.py": "def index():\n    return 'hi'\n\n\ndef more():\n    return 2\n",
            "app/new.py": "X = 1\n",
        },
    )
    blamed = host.blame(head, "app/views.py", [1, 2, 5, 6], since=base)
    assert {n: b.before_since for n, b in blamed.items()} == {
        1: True,
        2: True,
        5: False,
        6: False,
    }
    assert all(not b.before_since for b in host.blame(head, "app/new.py", [1], since=base).values())
    assert all(b.before_since for b in host.blame(head, "README.md", [1], since=base).values())


def test_added_lines_reads_hunks() -> None:
    patch = "@@ -1,3 +1,4 @@\n a\n-b\n+c\n+d\n e\n@@ -10,2 +11,2 @@\n x\n+y\n"
    assert added_lines(patch) == {2, 3, 12}


def test_search_fetches_files_within_bounds_and_says_so(
    host: GitHubHost, github_api: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = github_api.head
    found = host.search(head, r"return '[[:alpha:]]+'")
    assert [(h.path, h.line, h.text) for h in found.hits] == [
        ("app/views.py", 2, "    return 'hi'")
    ]
    assert found.truncated is False
    assert "GitHub has no search at a commit: searched 4 of 4 files" in found.note

    only_app = host.search(head, "class", fixed=True, paths=["app"])
    assert [h.path for h in only_app.hits] == ["app/models.py"]
    assert "2 of 2 files" in only_app.note

    monkeypatch.setattr("codehealth.repositories.github.SEARCH_MAX_FILES", 1)
    cut = host.search(head, "VALUE")
    assert cut.truncated is True and cut.hits == []
    assert "searched 1 of 4 files" in cut.note and "narrow it with paths" in cut.note
    with pytest.raises(CodehealthError, match="not a valid pattern"):
        host.search(head, "(")


def test_githubs_errors_become_code_healths(host: GitHubHost, github_api: FakeGitHub) -> None:
    github_api.script(error(502, "Server Error"))
    with pytest.raises(RepositoryUnavailable, match="GitHub 502"):
        host.resolve("master")
    github_api.token = "another"  # the stored token is now wrong: GitHub's 401
    with pytest.raises(RepositoryUnavailable, match="Bad credentials") as caught:
        host.resolve("master")
    assert TOKEN not in str(caught.value)


def test_a_patch_is_checked_against_the_files_it_reads(
    host: GitHubHost, github_api: FakeGitHub
) -> None:
    good = (
        "diff --git a/app/views.py b/app/views.py\n--- a/app/views.py\n+++ b/app/views.py\n"
        "@@ -1,2 +1,2 @@\n def index():\n-    return 'hi'\n+    return 'hello'\n"
    )
    host.check_patch(github_api.head, good)
    with pytest.raises(PatchRefused, match="does not apply"):
        host.check_patch(github_api.head, good.replace("'hi'", "'bye'"))
    with pytest.raises(PatchRefused, match=r"nowhere\.py not at"):
        host.check_patch(github_api.head, good.replace("app/views.py", "nowhere.py"))


def test_a_line_opens_on_github() -> None:
    assert web_url("https://api.github.com") == "https://github.com"
    assert web_url("https://ghe.example.com/api/v3/") == "https://ghe.example.com"
    head = "a" * 40
    assert github_line_url("https://github.com", "octo/cat", head, "src/a b.py", 7) == (
        f"https://github.com/octo/cat/blob/{head}/src/a%20b.py#L7"
    )
