"""Reading code at a commit: a file or a range of its lines, a search (git grep, or on
GitHub the files fetched and searched here), and where a person reads a line."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from codehealth.errors import CodehealthError, RepositoryNotFound
from codehealth.models import Finding, Repository, RepositoryKind
from codehealth.repositories import SearchHit, open_repository
from codehealth.repositories.github import github_line_url
from codehealth.repositories.github_access import web_url

MAX_FILE_BYTES = 1_000_000
MAX_LINES = 2000


@dataclass(frozen=True)
class FileExcerpt:
    repository: str
    commit: str
    path: str
    start_line: int
    end_line: int
    total_lines: int
    text: str
    truncated: bool


@dataclass(frozen=True)
class CodeSearch:
    repository: str
    commit: str
    pattern: str
    hits: list[SearchHit]
    truncated: bool
    note: str = ""  # how the search was made, when that limits it (GitHub)


def get_repository(name: str) -> Repository:
    repository = Repository.objects.filter(name=name).first()
    if repository is None:
        raise RepositoryNotFound(f"no repository named {name!r}")
    return repository


def resolve_commit(repository: Repository, ref: str = "") -> str:
    """The full commit `ref` names (default: the repository's default branch)."""
    return open_repository(repository).resolve(ref or repository.default_branch)


def read_file(
    *,
    repository: Repository,
    path: str,
    commit: str = "",
    start_line: int | None = None,
    end_line: int | None = None,
    max_lines: int = MAX_LINES,
) -> FileExcerpt:
    """A file at a commit (default: the default branch's head), or lines start..end of it."""
    host = open_repository(repository)
    full = host.resolve(commit or repository.default_branch)
    data = host.read_file(full, path)
    if b"\0" in data[:8000]:
        raise CodehealthError(f"{path} is a binary file")
    lines = data[:MAX_FILE_BYTES].decode(errors="replace").splitlines()
    first = max(1, start_line or 1)
    last = min(len(lines), end_line or len(lines))
    if start_line is not None and first > len(lines):
        raise CodehealthError(f"{path} has {len(lines)} lines; line {first} is past its end")
    shown = lines[first - 1 : last]
    truncated = len(shown) > max_lines or len(data) > MAX_FILE_BYTES
    shown = shown[:max_lines]
    return FileExcerpt(
        repository=repository.name,
        commit=full,
        path=path,
        start_line=first,
        end_line=first + len(shown) - 1 if shown else first,
        total_lines=len(lines),
        text="\n".join(shown),
        truncated=truncated,
    )


def search_code(
    *,
    repository: Repository,
    pattern: str,
    commit: str = "",
    fixed: bool = False,
    ignore_case: bool = False,
    paths: tuple[str, ...] = (),
    limit: int = 100,
) -> CodeSearch:
    """Lines matching `pattern` (extended regex unless `fixed`) at a commit: git grep for a
    local checkout; for GitHub the files fetched and searched here, within bounds `note`
    states."""
    if not pattern:
        raise CodehealthError("a search needs a pattern")
    host = open_repository(repository)
    full = host.resolve(commit or repository.default_branch)
    result = host.search(
        full, pattern, fixed=fixed, ignore_case=ignore_case, paths=paths, limit=limit
    )
    return CodeSearch(
        repository=repository.name,
        commit=full,
        pattern=pattern,
        hits=result.hits,
        truncated=result.truncated,
        note=result.note,
    )


def line_url(*, repository: Repository, commit: str, path: str, line: int | None = None) -> str:
    """Where a person reads a line at a commit: GitHub's page for a GitHub repository, this
    server's code view otherwise; "" without a path or a commit. Asks nothing of GitHub."""
    if not path or not commit:
        return ""
    if repository.kind == RepositoryKind.GITHUB:
        web = web_url(settings.GITHUB_API_URL)
        return github_line_url(web, repository.github_name, commit, path, line)
    query = urlencode({"commit": commit, "path": path, **({"line": line} if line else {})})
    anchor = f"#L{line}" if line else ""
    return f"{reverse('codehealth:code', args=[repository.name])}?{query}{anchor}"


def finding_line_url(finding: Finding) -> str:
    """The line of a finding as the last scan that saw it had it (select the repository
    and `last_seen_scan` with it)."""
    scan = finding.last_seen_scan
    if scan is None:
        return ""
    return line_url(
        repository=finding.repository, commit=scan.commit, path=finding.path, line=finding.line
    )
