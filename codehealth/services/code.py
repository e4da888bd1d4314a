"""Reading code at a commit: a file or a range of its lines, and a search (git grep)."""

from __future__ import annotations

from dataclasses import dataclass

from codehealth.errors import CodehealthError, RepositoryNotFound
from codehealth.models import Repository
from codehealth.repositories import SearchHit, open_repository

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
    """Lines matching `pattern` (extended regex unless `fixed`) at a commit, via git grep."""
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
    )
