"""What code health needs from a repository, whatever hosts it.

Every read is at a commit, never at whatever a work tree holds. `LocalGitRepository`
(`local.py`) implements it with git subprocesses; a GitHub-backed implementation
(`github.py`, over the `codehealth.github` REST client) registers itself for the kind
``github`` with `codehealth.repositories.register_host_kind` and implements the same methods.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from codehealth.errors import CodehealthError
from codehealth.normal_form import HostReport

FULL_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


@dataclass(frozen=True)
class SearchHit:
    path: str
    line: int
    text: str


@dataclass(frozen=True)
class BlameLine:
    line: int
    commit: str
    # The line is older than the `since` commit given to `blame` (it reached `since`).
    before_since: bool
    # When the commit was made (its committer time), where the host says.
    committed_at: datetime | None = None


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    truncated: bool
    # How the search was made when that limits it (GitHub has no grep at a commit).
    note: str = ""


@dataclass(frozen=True)
class ChangeRequest:
    """A change's pull request on the host (GitHub); a local checkout has none."""

    number: int
    url: str
    branch: str
    state: str  # open, merged or closed
    draft: bool = False


@dataclass
class ChangeWorkspace:
    """A writable tree at `base_commit` in which a change is made before it is published."""

    root: Path
    base_commit: str
    notes: dict[str, str] = field(default_factory=dict)


def check_commit(commit: str) -> str:
    if not FULL_COMMIT.match(commit):
        raise CodehealthError(f"not a full commit id: {commit[:80]!r}")
    return commit


def check_path(path: str) -> str:
    """A relative path inside the repository: no leading slash or dash, no `..`."""
    clean = path.strip()
    while clean.startswith("./"):
        clean = clean[2:]
    parts = PurePosixPath(clean).parts
    if not clean or clean.startswith(("/", "-")) or ".." in parts or "\x00" in clean:
        raise CodehealthError(f"not a path inside the repository: {path[:200]!r}")
    return str(PurePosixPath(*parts))


class CodeHost(ABC):
    """One repository, read at commits and written to through change branches."""

    kind: str

    # --- reading -------------------------------------------------------------------

    @abstractmethod
    def resolve(self, ref: str) -> str:
        """The full commit id a branch, tag or (short) commit names."""

    @abstractmethod
    def list_files(self, commit: str) -> list[str]:
        """Every file path in the tree at `commit`, sorted."""

    @abstractmethod
    def read_file(self, commit: str, path: str) -> bytes:
        """A file's bytes at `commit`; `NotInRepository` if it has no such file."""

    def read_files(self, commit: str, paths: Iterable[str]) -> dict[str, bytes]:
        """Several files at once; the missing ones are left out."""
        found: dict[str, bytes] = {}
        for path in paths:
            try:
                found[path] = self.read_file(commit, path)
            except CodehealthError:
                continue
        return found

    @abstractmethod
    def search(
        self,
        commit: str,
        pattern: str,
        *,
        fixed: bool = False,
        ignore_case: bool = False,
        paths: Iterable[str] = (),
        limit: int = 200,
    ) -> SearchResult:
        """Lines matching `pattern` (a POSIX extended regex unless `fixed`) at `commit`."""

    @abstractmethod
    def blame(
        self, commit: str, path: str, lines: Iterable[int], *, since: str | None = None
    ) -> dict[int, BlameLine]:
        """Who last changed each of `lines` as of `commit`; with `since`, lines older than
        that commit are marked `before_since` (not walked further)."""

    @abstractmethod
    def diff(self, base: str, head: str, paths: Iterable[str] = ()) -> str:
        """The unified diff from `base` to `head`."""

    @abstractmethod
    def renames(self, base: str, head: str) -> dict[str, str]:
        """Old path → new path for the files git's rename detection finds moved."""

    @abstractmethod
    def changed_paths(self, base: str, head: str) -> set[str]:
        """The paths that differ between two commits (new paths of renamed files)."""

    @abstractmethod
    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        """Whether `ancestor` is `commit` or in its history."""

    @abstractmethod
    def checkout(self, commit: str) -> AbstractContextManager[Path]:
        """The tree at `commit` in a temporary directory, removed on exit."""

    # --- writing: changes on branches of their own ----------------------------------

    @abstractmethod
    def change_workspace(self, base_commit: str) -> AbstractContextManager[ChangeWorkspace]:
        """A writable tree at `base_commit`, apart from anything checked out."""

    @abstractmethod
    def apply_patch(self, workspace: ChangeWorkspace, diff: str) -> None:
        """Apply a unified diff to the workspace; `PatchRefused` if it does not apply."""

    @abstractmethod
    def check_patch(self, base_commit: str, diff: str) -> None:
        """`PatchRefused` unless the diff applies cleanly to `base_commit`."""

    @abstractmethod
    def workspace_diff(self, workspace: ChangeWorkspace) -> str:
        """Every change in the workspace, as a deterministic unified diff against its base."""

    @abstractmethod
    def publish_change(self, workspace: ChangeWorkspace, *, branch: str, message: str) -> str:
        """Commit the workspace's changes as one commit on a new `branch`; the commit id."""

    @abstractmethod
    def branch_head(self, branch: str) -> str | None:
        """The commit a branch points at, or None if there is no such branch."""

    @abstractmethod
    def fast_forward(self, *, target_branch: str, expected: str, new_head: str) -> None:
        """Move `target_branch` from `expected` to `new_head`; `MergeRefused` if it moved."""

    @abstractmethod
    def delete_branch(self, branch: str) -> None:
        """Remove a change branch (a refused or rejected change)."""

    # --- what only some hosts have: their own reports, pull requests, web links ------

    def reported_results(self, commit: str, *, ref: str = "") -> HostReport:
        """What the host itself reported about `commit` (its CI, its alerts)."""
        return HostReport()

    def open_change_requests(self, branch_prefix: str) -> list[ChangeRequest] | None:
        """The host's open pull requests from branches starting with `branch_prefix`;
        None when the host has no pull requests (a local checkout)."""
        return None

    def request_review(
        self, *, branch: str, target_branch: str, title: str, body: str
    ) -> ChangeRequest | None:
        """Open a (draft) pull request for a published change; None when the host has none."""
        return None

    def change_request(self, number: int) -> ChangeRequest | None:
        """A pull request's current state, or None when the host has none."""
        return None

    def close_change_request(self, number: int) -> None:
        """Close a pull request unmerged (a rejected change)."""
        return

    def line_url(self, commit: str, path: str, line: int | None) -> str:
        """A web page showing `path` at `commit` (at `line`), or "" when the host has none."""
        return ""
