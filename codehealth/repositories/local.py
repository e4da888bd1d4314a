"""A local git checkout, read through git at a commit and never through its work tree.

Changes are built in a separate worktree (``git worktree add --detach``) and published as
a branch; the checked-out branch and the work tree are left alone until a person merges.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from codehealth.errors import MergeRefused, NotInRepository, PatchRefused, RepositoryUnavailable
from codehealth.processes import Completed
from codehealth.repositories.base import (
    BlameLine,
    ChangeWorkspace,
    CodeHost,
    SearchHit,
    SearchResult,
    check_commit,
    check_path,
)
from codehealth.repositories.git import GitFailed, git, git_text

CHANGE_BRANCH_PREFIX = "juggernaut/"
DIFF_OPTIONS = ("--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/")


def work_dir(name: str) -> Path:
    path = Path(settings.CODEHEALTH_WORK_DIR) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _line_ranges(lines: Iterable[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for line in sorted(set(lines)):
        if ranges and line == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], line)
        else:
            ranges.append((line, line))
    return ranges


def parse_blame(porcelain: str) -> dict[int, BlameLine]:
    """`git blame --porcelain`: a header per line, a commit's details the first time only."""
    boundaries: set[str] = set()
    times: dict[str, datetime] = {}
    headers: list[tuple[str, int]] = []
    current = ""
    for raw in porcelain.splitlines():
        if raw.startswith("\t"):
            continue
        fields = raw.split(" ")
        if len(fields) >= 3 and len(fields[0]) in (40, 64) and fields[1].isdigit():
            current = fields[0]
            headers.append((current, int(fields[2])))
        elif raw == "boundary":
            boundaries.add(current)
        elif raw.startswith("committer-time ") and fields[1].isdigit():
            times[current] = datetime.fromtimestamp(int(fields[1]), tz=UTC)
    return {
        line: BlameLine(
            line=line,
            commit=commit,
            before_since=commit in boundaries,
            committed_at=times.get(commit),
        )
        for commit, line in headers
    }


class LocalGitRepository(CodeHost):
    kind = "local"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise RepositoryUnavailable(f"{self.path} is not a directory")

    def _git(
        self, *args: str, ok_codes: tuple[int, ...] = (0,), stdin: bytes | None = None
    ) -> Completed:
        return git(self.path, *args, ok_codes=ok_codes, stdin=stdin)

    # --- reading -------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        if not ref or ref.startswith("-") or any(c.isspace() for c in ref):
            raise NotInRepository(f"not a ref: {ref[:100]!r}")
        done = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ok_codes=(0, 1))
        commit = done.stdout.decode().strip()
        if done.exit_code != 0 or not commit:
            raise NotInRepository(f"{self.path.name} has no commit {ref!r}")
        return commit

    def checked_out_branch(self) -> str | None:
        """The branch the work tree has checked out (None when detached)."""
        done = self._git("symbolic-ref", "--quiet", "--short", "HEAD", ok_codes=(0, 1, 128))
        return done.stdout.decode().strip() or None

    def list_files(self, commit: str) -> list[str]:
        done = self._git("ls-tree", "-r", "-z", "--name-only", check_commit(commit))
        return sorted(p for p in done.stdout.decode(errors="replace").split("\0") if p)

    def read_file(self, commit: str, path: str) -> bytes:
        spec = f"{check_commit(commit)}:{check_path(path)}"
        done = self._git("cat-file", "blob", spec, ok_codes=(0, 128))
        if done.exit_code != 0:
            raise NotInRepository(f"no file {path!r} at {commit[:12]}")
        return done.stdout

    def read_files(self, commit: str, paths: Iterable[str]) -> dict[str, bytes]:
        wanted = [check_path(p) for p in paths]
        if not wanted:
            return {}
        check_commit(commit)
        request = "".join(f"{commit}:{p}\n" for p in wanted).encode()
        out = self._git("cat-file", "--batch", stdin=request).stdout
        found: dict[str, bytes] = {}
        position = 0
        for path in wanted:
            end = out.index(b"\n", position)
            header = out[position:end].decode(errors="replace").split(" ")
            position = end + 1
            if len(header) != 3 or header[1] != "blob":
                continue  # "missing", or a tree
            size = int(header[2])
            found[path] = out[position : position + size]
            position += size + 1
        return found

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
        args = ["grep", "-n", "-z", "-I", "--full-name", "-F" if fixed else "-E"]
        if ignore_case:
            args.append("-i")
        args += ["-e", pattern, check_commit(commit), "--", *[check_path(p) for p in paths]]
        done = self._git(*args, ok_codes=(0, 1))
        hits: list[SearchHit] = []
        prefix = f"{commit}:"
        for raw in done.stdout.decode(errors="replace").splitlines():
            parts = raw.split("\0", 2)
            if len(parts) != 3 or not parts[1].isdigit():
                continue
            if len(hits) == limit:
                return SearchResult(hits, truncated=True)
            path = parts[0].removeprefix(prefix)
            hits.append(SearchHit(path=path, line=int(parts[1]), text=parts[2]))
        return SearchResult(hits, truncated=False)

    def blame(
        self, commit: str, path: str, lines: Iterable[int], *, since: str | None = None
    ) -> dict[int, BlameLine]:
        ranges = _line_ranges(lines)
        if not ranges:
            return {}
        args = ["blame", "--porcelain"]
        for start, end in ranges:
            args += ["-L", f"{start},{end}"]
        revision = check_commit(commit)
        if since:
            revision = f"{check_commit(since)}..{revision}"
        args += [revision, "--", check_path(path)]
        return parse_blame(git_text(self.path, *args))

    def diff(self, base: str, head: str, paths: Iterable[str] = ()) -> str:
        return git_text(
            self.path,
            "diff",
            *DIFF_OPTIONS,
            check_commit(base),
            check_commit(head),
            "--",
            *[check_path(p) for p in paths],
        )

    def renames(self, base: str, head: str) -> dict[str, str]:
        if base == head:
            return {}
        out = git_text(
            self.path,
            "diff",
            "--name-status",
            "-z",
            "-M",
            "--diff-filter=R",
            check_commit(base),
            check_commit(head),
        )
        fields = [f for f in out.split("\0") if f]
        moved: dict[str, str] = {}
        for index in range(0, len(fields) - 2, 3):
            status, old, new = fields[index : index + 3]
            if status.startswith("R"):
                moved[old] = new
        return moved

    def changed_paths(self, base: str, head: str) -> set[str]:
        if base == head:
            return set()
        out = git_text(
            self.path, "diff", "--name-only", "-z", check_commit(base), check_commit(head)
        )
        return {p for p in out.split("\0") if p}

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        done = self._git(
            "merge-base",
            "--is-ancestor",
            check_commit(ancestor),
            check_commit(commit),
            ok_codes=(0, 1),
        )
        return done.exit_code == 0

    @contextmanager
    def checkout(self, commit: str) -> Iterator[Path]:
        archive = self._git("archive", "--format=tar", check_commit(commit)).stdout
        root = Path(tempfile.mkdtemp(prefix="scan-", dir=work_dir("tmp")))
        try:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
                tar.extractall(root, filter="data")
            # Installed JavaScript packages are not in git; tsc and eslint resolve imports
            # through them, so the scanned tree borrows the checkout's.
            node_modules = self.path / "node_modules"
            if node_modules.is_dir() and not (root / "node_modules").exists():
                (root / "node_modules").symlink_to(node_modules, target_is_directory=True)
            yield root
        finally:
            shutil.rmtree(root, ignore_errors=True)

    # --- writing -------------------------------------------------------------------

    @contextmanager
    def change_workspace(self, base_commit: str) -> Iterator[ChangeWorkspace]:
        root = work_dir("worktrees") / f"change-{uuid.uuid4().hex[:12]}"
        self._git("worktree", "add", "--detach", str(root), check_commit(base_commit))
        try:
            yield ChangeWorkspace(root=root, base_commit=base_commit)
        finally:
            self._git("worktree", "remove", "--force", str(root), ok_codes=(0, 128))
            shutil.rmtree(root, ignore_errors=True)
            self._git("worktree", "prune", ok_codes=(0, 128))

    def apply_patch(self, workspace: ChangeWorkspace, diff: str) -> None:
        patch = workspace.root.parent / f"{workspace.root.name}.patch"
        patch.write_text(diff)
        try:
            git(workspace.root, "apply", "--index", "--whitespace=nowarn", str(patch))
        except GitFailed as exc:
            raise PatchRefused(f"the patch does not apply: {exc.stderr[:1000]}") from exc
        finally:
            patch.unlink(missing_ok=True)

    def check_patch(self, base_commit: str, diff: str) -> None:
        scratch = Path(tempfile.mkdtemp(prefix="check-", dir=work_dir("tmp")))
        index = {"GIT_INDEX_FILE": str(scratch / "index")}
        patch = scratch / "change.patch"
        patch.write_text(diff)
        try:
            git(self.path, "read-tree", check_commit(base_commit), env=index)
            git(self.path, "apply", "--cached", "--check", str(patch), env=index)
        except GitFailed as exc:
            raise PatchRefused(f"the patch does not apply: {exc.stderr[:1000]}") from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def workspace_diff(self, workspace: ChangeWorkspace) -> str:
        git(workspace.root, "add", "--all")
        return git_text(workspace.root, "diff", "--cached", "--binary", *DIFF_OPTIONS, "HEAD")

    def publish_change(self, workspace: ChangeWorkspace, *, branch: str, message: str) -> str:
        self._check_change_branch(branch)
        git(workspace.root, "commit", "--no-verify", "--quiet", "-m", message)
        head = git_text(workspace.root, "rev-parse", "HEAD").strip()
        try:
            # The empty old value: create it, never move a branch that exists.
            self._git("update-ref", f"refs/heads/{branch}", head, "")
        except GitFailed as exc:
            raise PatchRefused(f"branch {branch} exists already") from exc
        return head

    def branch_head(self, branch: str) -> str | None:
        done = self._git(
            "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", ok_codes=(0, 1)
        )
        return done.stdout.decode().strip() or None

    def fast_forward(self, *, target_branch: str, expected: str, new_head: str) -> None:
        current = self.branch_head(target_branch)
        if current != expected:
            raise MergeRefused(
                f"{target_branch} moved since the change was built "
                f"({expected[:12]} → {(current or 'gone')[:12]}); rebuild it on the new base"
            )
        if not self.is_ancestor(expected, new_head):
            raise MergeRefused(f"{new_head[:12]} does not descend from {expected[:12]}")
        checked_out = self._worktree_of(target_branch)
        if checked_out is None:
            try:
                self._git("update-ref", f"refs/heads/{target_branch}", new_head, expected)
            except GitFailed as exc:
                raise MergeRefused(f"{target_branch} moved while merging: {exc.stderr}") from exc
            return
        dirty = git_text(checked_out, "status", "--porcelain", "--untracked-files=no").strip()
        if dirty:
            raise MergeRefused(
                f"the checkout of {target_branch} at {checked_out} has uncommitted changes; "
                "commit or stash them first"
            )
        try:
            git(checked_out, "merge", "--ff-only", "--quiet", new_head)
        except GitFailed as exc:
            raise MergeRefused(f"fast-forward refused: {exc.stderr}") from exc

    def delete_branch(self, branch: str) -> None:
        self._check_change_branch(branch)
        self._git("update-ref", "-d", f"refs/heads/{branch}", ok_codes=(0, 1, 128))

    def _worktree_of(self, branch: str) -> Path | None:
        """The work tree that has `branch` checked out, if any."""
        listing = git_text(self.path, "worktree", "list", "--porcelain")
        path: str | None = None
        for line in listing.splitlines():
            if line.startswith("worktree "):
                path = line.removeprefix("worktree ")
            elif line == f"branch refs/heads/{branch}" and path:
                return Path(path)
        return None

    def _check_change_branch(self, branch: str) -> None:
        if not branch.startswith(CHANGE_BRANCH_PREFIX):
            raise PatchRefused(f"change branches start with {CHANGE_BRANCH_PREFIX}: {branch!r}")
        done = self._git("check-ref-format", "--branch", branch, ok_codes=(0, 1, 128))
        if done.exit_code != 0:
            raise PatchRefused(f"not a valid branch name: {branch!r}")
