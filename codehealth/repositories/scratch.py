"""Trees at a commit on disk for a host with no local clone (GitHub): an archive unpacked
within bounds, and a throwaway git repository over it for building a change.

The unpacked tree becomes one local commit, so that a patch applies with ``git apply`` and
the change reads back as the same deterministic diff a local checkout's worktree gives.
Nothing of that throwaway repository is pushed anywhere: a host publishes the change
through its own API.
"""

from __future__ import annotations

import codecs
import io
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from codehealth.errors import PatchRefused, RepositoryUnavailable
from codehealth.repositories.base import ChangeWorkspace, check_path
from codehealth.repositories.git import GitFailed, git, git_text

DIFF_OPTIONS = ("--no-color", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/")
_OLD_PATH = re.compile(r"^(--- |rename from |copy from )(.+?)\t?$", re.MULTILINE)


def _inside_only(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's "data" filter (no absolute paths, no `..`, no devices, no link out of the
    folder: an archive is input from outside), skipping what it refuses rather than failing
    the whole checkout over one link to /etc."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


def unpack_archive(data: bytes, root: Path, *, max_unpacked_bytes: int) -> int:
    """Unpack a gzipped tar whose members sit under one top folder (GitHub's archives)
    into `root`, without that folder; refuses one that unpacks past `max_unpacked_bytes`.
    Returns the number of files."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            return _unpack(archive, root, max_unpacked_bytes)
    except (tarfile.TarError, OSError) as exc:
        raise RepositoryUnavailable(f"the archive does not unpack: {exc}") from exc


def _unpack(archive: tarfile.TarFile, root: Path, max_unpacked_bytes: int) -> int:
    members = archive.getmembers()
    total = sum(m.size for m in members if m.isfile())
    if total > max_unpacked_bytes:
        raise RepositoryUnavailable(
            f"the commit unpacks to {total // 1_000_000} MB, past the limit of "
            f"{max_unpacked_bytes // 1_000_000} MB"
        )
    kept = []
    for member in members:
        parts = PurePosixPath(member.name).parts
        if len(parts) < 2:
            continue  # the top folder itself
        member.name = str(PurePosixPath(*parts[1:]))
        kept.append(member)
    archive.extractall(root, members=kept, filter=_inside_only)  # noqa: S202 - filtered
    return sum(1 for m in kept if m.isfile())


def init_base(root: Path) -> None:
    """Make the unpacked tree one local commit: the base a change is diffed against."""
    git(root, "init", "-q")
    # --force: files the repository's .gitignore matches but that it tracks are in the tree.
    git(root, "add", "--all", "--force")
    git(root, "commit", "--no-verify", "--quiet", "--allow-empty", "-m", "base")


def apply_patch(workspace: ChangeWorkspace, diff: str) -> None:
    patch = workspace.root.parent / f"{workspace.root.name}.patch"
    patch.write_text(diff)
    try:
        git(workspace.root, "apply", "--index", "--whitespace=nowarn", str(patch))
    except GitFailed as exc:
        raise PatchRefused(f"the patch does not apply: {exc.stderr[:1000]}") from exc
    finally:
        patch.unlink(missing_ok=True)


def workspace_diff(workspace: ChangeWorkspace) -> str:
    """Every change, staged: what is published is what was staged here (before the tests,
    so nothing the tests write is part of it)."""
    git(workspace.root, "add", "--all")
    return git_text(workspace.root, "diff", "--cached", "--binary", *DIFF_OPTIONS, "HEAD")


def old_paths(diff: str) -> list[str]:
    """The paths a unified diff reads from its base (git's C-quoted paths unquoted)."""
    found = []
    for kind, raw in _OLD_PATH.findall(diff):
        text = raw.strip()
        if text == "/dev/null":
            continue
        if text.startswith('"') and text.endswith('"'):
            text = codecs.escape_decode(text[1:-1].encode())[0].decode(errors="replace")
        if kind == "--- ":
            text = text.removeprefix("a/")
        found.append(check_path(text))
    return sorted(set(found))


def check_applies(scratch: Path, files: dict[str, bytes], diff: str) -> None:
    """`PatchRefused` unless `diff` applies to a tree holding `files` (the paths it reads)."""
    for path, content in files.items():
        target = scratch / "tree" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (scratch / "tree").mkdir(exist_ok=True)
    init_base(scratch / "tree")
    patch = scratch / "change.patch"
    patch.write_text(diff)
    try:
        git(scratch / "tree", "apply", "--check", "--index", str(patch))
    except GitFailed as exc:
        raise PatchRefused(f"the patch does not apply: {exc.stderr[:1000]}") from exc


@dataclass(frozen=True)
class StagedFile:
    path: str
    mode: str  # git's: 100644, 100755 or 120000 (a link)
    content: bytes | None  # None: deleted


def staged_changes(workspace: ChangeWorkspace) -> list[StagedFile]:
    """The staged changes against the base, file by file (renames as a delete and an add)."""
    raw = git(workspace.root, "diff", "--cached", "--raw", "--no-renames", "-z", "HEAD").stdout
    fields = raw.decode(errors="surrogateescape").split("\0")
    changes = []
    for index in range(0, len(fields) - 1, 2):
        header, path = fields[index], fields[index + 1]
        if not header.startswith(":"):
            continue
        _, new_mode, _, new_blob, status = header[1:].split(" ")
        if status == "D":
            changes.append(StagedFile(path, "", None))
            continue
        content = git(workspace.root, "cat-file", "blob", new_blob).stdout
        changes.append(StagedFile(path, new_mode, content))
    return changes


def check_branch_name(root: Path, branch: str, prefix: str) -> None:
    if not branch.startswith(prefix):
        raise PatchRefused(f"change branches start with {prefix}: {branch!r}")
    done = git(root, "check-ref-format", "--branch", branch, ok_codes=(0, 1, 128))
    if done.exit_code != 0:
        raise PatchRefused(f"not a valid branch name: {branch!r}")
