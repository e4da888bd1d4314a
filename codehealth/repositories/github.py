"""A GitHub repository behind `CodeHost`, read through GitHub's REST API at a commit.

- The tree at a commit comes from the git trees API (walked folder by folder when GitHub
  cuts a recursive listing); a file from the blob API by its sha (cached: blobs never
  change).
- A scan's checkout is the commit's tarball (a 302 to GitHub's archive host, fetched
  without the token), unpacked within ``CODEHEALTH_GITHUB_MAX_CHECKOUT_MB``.
- Diffs, renames and ancestry come from the compare API; "blame since the baseline" from
  the comparison's patch (GitHub's REST API has no blame): a line is new code when the
  comparison adds it.
- Search: GitHub has no grep at a commit, so the files are fetched and searched here,
  within bounds that every answer states.
- Changes, pull requests and what the repository's own CI said: `github_changes.py` and
  `github_reports.py`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.conf import settings

from codehealth.errors import CodehealthError, NotInRepository, RepositoryUnavailable
from codehealth.github import Comparison, GitHubRepo, NotFound, TreeEntry, ValidationFailed
from codehealth.normal_form import HostReport
from codehealth.repositories import github_access
from codehealth.repositories.base import (
    BlameLine,
    SearchHit,
    SearchResult,
    check_commit,
    check_path,
)
from codehealth.repositories.github_access import (
    client_for,
    token_digest,
    token_for,
    translated,
    web_url,
)
from codehealth.repositories.github_changes import GitHubChanges
from codehealth.repositories.github_reports import report_commit
from codehealth.repositories.local import work_dir
from codehealth.repositories.scratch import unpack_archive

if TYPE_CHECKING:
    from codehealth.models import Repository

SEARCH_MAX_FILES = 400
SEARCH_MAX_FILE_BYTES = 1_000_000
SEARCH_MAX_BYTES = 20_000_000
UNPACKED_PER_ARCHIVE_BYTE = 5
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_POSIX_CLASSES = {
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:alnum:]": "a-zA-Z0-9",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:space:]": r"\s",
    "[:blank:]": r" \t",
    "[:punct:]": r"!-/:-@\[-`{-~",
    "[:xdigit:]": "0-9A-Fa-f",
    "[:word:]": r"\w",
}


def added_lines(patch: str) -> set[int]:
    """The new file's line numbers that a comparison's patch adds."""
    added: set[int] = set()
    line = 0
    for text in patch.splitlines():
        hunk = _HUNK.match(text)
        if hunk:
            line = int(hunk.group(1))
        elif text.startswith("+"):
            added.add(line)
            line += 1
        elif not text.startswith(("-", "\\")):
            line += 1
    return added


def compile_pattern(pattern: str, *, fixed: bool, ignore_case: bool) -> re.Pattern[str]:
    """git grep's pattern (POSIX extended, or fixed) as a Python one."""
    source = re.escape(pattern) if fixed else pattern
    if not fixed:
        for posix, python in _POSIX_CLASSES.items():
            source = source.replace(posix, python)
    try:
        return re.compile(source, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise CodehealthError(f"not a valid pattern: {exc}") from None


class GitHubHost(GitHubChanges):
    kind = "github"

    def __init__(self, repository: Repository) -> None:
        self.name = repository.github_name
        self.client = client_for(repository)
        self.repo: GitHubRepo = self.client.repo(self.name)
        self.web = web_url(settings.GITHUB_API_URL)
        self._token_id = token_digest(token_for(repository))
        self._files: dict[str, dict[str, TreeEntry]] = {}
        self._comparisons: dict[tuple[str, str], Comparison] = {}

    def __repr__(self) -> str:
        return f"<GitHubHost {self.name}>"

    @property
    def max_archive_bytes(self) -> int:
        return int(settings.CODEHEALTH_GITHUB_MAX_CHECKOUT_MB) * 1024 * 1024

    # --- reading -------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        if not ref or ref.startswith("-") or any(c.isspace() for c in ref):
            raise NotInRepository(f"not a ref: {ref[:100]!r}")
        with translated(f"resolve {ref}"):
            try:
                return self.repo.ref_sha(ref)
            except (NotFound, ValidationFailed):  # 422 "No commit found for SHA: ..."
                raise NotInRepository(f"{self.name} has no commit {ref!r}") from None

    def _walk(self, sha: str, prefix: str, into: dict[str, TreeEntry]) -> None:
        tree = self.repo.tree(sha, recursive=True)
        if not tree.truncated:
            into.update({f"{prefix}{e.path}": e for e in tree.entries if e.type == "blob"})
            return
        # GitHub cut the recursive listing (past 100,000 entries or 7 MB): this folder's
        # own entries, then each subfolder the same way.
        for entry in self.repo.tree(sha, recursive=False).entries:
            if entry.type == "blob":
                into[f"{prefix}{entry.path}"] = entry
            elif entry.type == "tree":
                self._walk(entry.sha, f"{prefix}{entry.path}/", into)

    def files(self, commit: str) -> dict[str, TreeEntry]:
        """Every file at `commit` (submodules left out), by path."""
        check_commit(commit)
        if commit not in self._files:
            found: dict[str, TreeEntry] = {}
            with translated(f"list the files at {commit[:12]}"):
                self._walk(commit, "", found)
            self._files[commit] = found
        return self._files[commit]

    def list_files(self, commit: str) -> list[str]:
        return sorted(self.files(commit))

    def blob(self, sha: str) -> bytes:
        key = (self._token_id, self.name, sha)
        content = github_access.SHARED_BLOBS.get(key)
        if content is None:
            with translated(f"read blob {sha[:12]}"):
                content = self.repo.blob(sha)
            github_access.SHARED_BLOBS.put(key, content)
        return content

    def read_file(self, commit: str, path: str) -> bytes:
        entry = self.files(commit).get(check_path(path))
        if entry is None:
            raise NotInRepository(f"no file {path!r} at {commit[:12]}")
        return self.blob(entry.sha)

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
        rx = compile_pattern(pattern, fixed=fixed, ignore_case=ignore_case)
        prefixes = [check_path(p) for p in paths]
        candidates = [
            (path, entry)
            for path, entry in sorted(self.files(commit).items())
            if not prefixes or any(path == p or path.startswith(f"{p}/") for p in prefixes)
        ]
        small = [(p, e) for p, e in candidates if (e.size or 0) <= SEARCH_MAX_FILE_BYTES]
        hits: list[SearchHit] = []
        searched = budget = 0
        cut = len(small) < len(candidates)
        for path, entry in small:
            if searched == SEARCH_MAX_FILES or budget + (entry.size or 0) > SEARCH_MAX_BYTES:
                cut = True
                break
            content = self.blob(entry.sha)
            searched, budget = searched + 1, budget + len(content)
            if b"\0" in content[:8000]:
                continue
            for number, text in enumerate(content.decode(errors="replace").splitlines(), 1):
                if rx.search(text):
                    if len(hits) == limit:
                        return SearchResult(hits, truncated=True, note=self._note(searched, cut))
                    hits.append(SearchHit(path=path, line=number, text=text))
        return SearchResult(hits, truncated=cut, note=self._note(searched, cut, len(candidates)))

    @staticmethod
    def _note(searched: int, cut: bool, total: int | None = None) -> str:
        scope = f"{searched} of {total}" if total is not None else str(searched)
        note = (
            f"GitHub has no search at a commit: searched {scope} files, fetched through its "
            f"API (Python regular expressions; files over {SEARCH_MAX_FILE_BYTES // 1000} kB "
            f"skipped; at most {SEARCH_MAX_FILES} files a search)"
        )
        return note + ("; narrow it with paths" if cut else "")

    def compare(self, base: str, head: str) -> Comparison:
        key = (check_commit(base), check_commit(head))
        if key not in self._comparisons:
            with translated(f"compare {base[:12]}...{head[:12]}"):
                self._comparisons[key] = self.repo.compare(base, head)
        return self._comparisons[key]

    def blame(
        self, commit: str, path: str, lines: Iterable[int], *, since: str | None = None
    ) -> dict[int, BlameLine]:
        """Without a REST blame, only "since" is answered: from the comparison's patch. A
        file the comparison does not show in full (binary, too large, or past the 300
        files GitHub lists) is left unanswered, so nothing on it is called new."""
        wanted = sorted(set(lines))
        if since is None or not wanted:
            return {}
        compared = {f.filename: f for f in self.compare(since, commit).files}
        changed = compared.get(check_path(path))
        if changed is None:
            if self.compare(since, commit).files_may_be_cut:
                return {}
            return {n: BlameLine(n, since, before_since=True) for n in wanted}
        if changed.status == "added":
            return {n: BlameLine(n, commit, before_since=False) for n in wanted}
        if changed.patch is None:
            return {}
        added = added_lines(changed.patch)
        return {
            n: BlameLine(n, commit if n in added else since, before_since=n not in added)
            for n in wanted
        }

    def diff(self, base: str, head: str, paths: Iterable[str] = ()) -> str:
        with translated(f"diff {base[:12]}...{head[:12]}"):
            text = self.repo.diff(check_commit(base), check_commit(head))
        wanted = {check_path(p) for p in paths}
        if not wanted:
            return text
        blocks = re.split(r"(?m)^(?=diff --git )", text)
        return "".join(b for b in blocks if _block_paths(b) & wanted)

    def renames(self, base: str, head: str) -> dict[str, str]:
        if base == head:
            return {}
        return {
            f.previous_filename: f.filename
            for f in self.compare(base, head).files
            if f.status == "renamed" and f.previous_filename
        }

    def changed_paths(self, base: str, head: str) -> set[str]:
        if base == head:
            return set()
        before, after = self.files(base), self.files(head)
        return {
            path
            for path in set(before) | set(after)
            if (before.get(path) or _NO_ENTRY).sha != (after.get(path) or _NO_ENTRY).sha
        }

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        if ancestor == commit:
            return True
        try:
            return self.compare(ancestor, commit).status in ("ahead", "identical")
        except NotInRepository:
            return False

    @contextmanager
    def checkout(self, commit: str) -> Iterator[Path]:
        root = Path(tempfile.mkdtemp(prefix="scan-", dir=work_dir("tmp")))
        try:
            self.unpack(commit, root)
            yield root
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def unpack(self, commit: str, root: Path) -> None:
        limit = self.max_archive_bytes
        with translated(f"download the archive of {commit[:12]}"):
            data = self.repo.archive(check_commit(commit), max_bytes=limit)
        unpack_archive(data, root, max_unpacked_bytes=limit * UNPACKED_PER_ARCHIVE_BYTE)

    # --- what GitHub itself says about a commit --------------------------------------

    def reported_results(self, commit: str, *, ref: str = "") -> HostReport:
        branch = ref if ref and ref != commit and self.branch_head(ref) else ""
        with translated(f"read what GitHub reported about {commit[:12]}"):
            return report_commit(
                self.repo,
                commit=commit,
                branch=branch,
                files=set(self.files(commit)),
                web=f"{self.web}/{self.name}",
            )

    def line_url(self, commit: str, path: str, line: int | None) -> str:
        return github_line_url(self.web, self.name, commit, path, line)


def github_line_url(web: str, name: str, commit: str, path: str, line: int | None) -> str:
    anchor = f"#L{line}" if line else ""
    return f"{web}/{name}/blob/{commit}/{quote(path)}{anchor}"


_NO_ENTRY = TreeEntry(path="", mode="", type="", sha="")


def _block_paths(block: str) -> set[str]:
    first = block.split("\n", 1)[0]
    match = re.match(r"diff --git a/(.+?) b/(.+)$", first)
    return set(match.groups()) if match else set()


def open_github(repository: Repository) -> GitHubHost:
    if not repository.github_name:
        raise RepositoryUnavailable(f"repository {repository.name} has no owner/name")
    return GitHubHost(repository)


__all__ = ["GitHubHost", "NotFound", "github_line_url", "open_github"]
