"""The local repository reads git at a commit, never the work tree, through fixed
argument lists; a kind with no client installed says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codehealth.errors import CodehealthError, NotInRepository, RepositoryUnavailable
from codehealth.models import Repository, RepositoryKind
from codehealth.repositories import LocalGitRepository, check_path, open_repository
from tests.codehealth.gitrepo import GitRepo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "r")
    repo.write("app/models.py", "A = 1\nB = 2\n")
    repo.write("README.md", "hello\n")
    repo.commit("first")
    return repo


def test_files_are_read_at_the_commit_not_from_the_work_tree(repo: GitRepo) -> None:
    first = repo.head()
    repo.write("app/models.py", "A = 10\n")
    second = repo.commit("second")
    (repo.root / "app/models.py").write_text("uncommitted\n")
    host = LocalGitRepository(repo.root)

    assert host.read_file(first, "app/models.py") == b"A = 1\nB = 2\n"
    assert host.read_file(second, "app/models.py") == b"A = 10\n"
    assert host.read_files(first, ["README.md", "gone.py", "app/models.py"]) == {
        "README.md": b"hello\n",
        "app/models.py": b"A = 1\nB = 2\n",
    }
    assert host.list_files(first) == ["README.md", "app/models.py"]
    with pytest.raises(NotInRepository):
        host.read_file(first, "gone.py")


def test_refs_resolve_to_full_commits_and_options_are_refused(repo: GitRepo) -> None:
    host = LocalGitRepository(repo.root)

    assert host.resolve("main") == repo.head()
    assert host.resolve(repo.head()[:8]) == repo.head()
    for bad in ("--output=/tmp/x", "no-such-branch", "main other"):
        with pytest.raises(NotInRepository):
            host.resolve(bad)


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "-p", "a/../../b", ""])
def test_paths_outside_the_repository_are_refused(path: str) -> None:
    with pytest.raises(CodehealthError):
        check_path(path)


def test_search_is_git_grep_at_the_commit(repo: GitRepo) -> None:
    first = repo.head()
    repo.write("app/views.py", "def page():\n    return A\n")
    second = repo.commit()
    host = LocalGitRepository(repo.root)

    hits = host.search(second, r"^[AB] =").hits
    assert [(h.path, h.line, h.text) for h in hits] == [
        ("app/models.py", 1, "A = 1"),
        ("app/models.py", 2, "B = 2"),
    ]
    assert host.search(first, "return A").hits == []
    assert [h.path for h in host.search(second, "A", fixed=True, paths=("app/views.py",)).hits] == [
        "app/views.py"
    ]
    limited = host.search(second, "=", limit=1)
    assert len(limited.hits) == 1 and limited.truncated


def test_blame_since_the_baseline_tells_old_lines_from_new(repo: GitRepo) -> None:
    baseline = repo.head()
    repo.write("app/models.py", "A = 1\nB = 2\nC = 3\n")
    head = repo.commit("add C")
    host = LocalGitRepository(repo.root)

    blamed = host.blame(head, "app/models.py", [1, 3], since=baseline)

    assert blamed[1].before_since and not blamed[3].before_since
    assert blamed[3].commit == head
    assert host.changed_paths(baseline, head) == {"app/models.py"}


def test_renames_and_diffs_between_commits(repo: GitRepo) -> None:
    base = repo.head()
    repo.move("app/models.py", "core/models.py")
    head = repo.commit("move")
    host = LocalGitRepository(repo.root)

    assert host.renames(base, head) == {"app/models.py": "core/models.py"}
    assert "rename to core/models.py" in host.diff(base, head)
    assert host.is_ancestor(base, head) and not host.is_ancestor(head, base)


def test_a_checkout_holds_the_commit_and_is_removed_after(repo: GitRepo) -> None:
    first = repo.head()
    repo.write("app/models.py", "changed\n")
    repo.commit()
    host = LocalGitRepository(repo.root)

    with host.checkout(first) as root:
        assert (root / "app/models.py").read_text() == "A = 1\nB = 2\n"
        assert not (root / ".git").exists()
    assert not root.exists()
    assert repo.status() == ""


def test_a_kind_without_a_client_is_unavailable() -> None:
    repository = Repository(name="svn", kind="svn", path="/srv/svn")

    with pytest.raises(RepositoryUnavailable, match="no client"):
        open_repository(repository)


def test_a_github_repository_needs_a_token(settings: Any) -> None:
    settings.GITHUB_TOKEN = ""
    repository = Repository(name="gh", kind=RepositoryKind.GITHUB, github_name="octo/cat")

    with pytest.raises(RepositoryUnavailable, match="no GitHub token"):
        open_repository(repository)


def test_a_missing_checkout_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(RepositoryUnavailable):
        LocalGitRepository(tmp_path / "nowhere")
