"""Repositories behind one interface (`CodeHost`): open the one a `Repository` row names.

Kinds register a factory here: ``local`` is built in; the GitHub kind
(``codehealth/repositories/github.py``, over the ``codehealth.github`` REST client) is
registered with `register_host_kind("github", ...)` from `CodehealthConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from codehealth.errors import RepositoryUnavailable
from codehealth.repositories.base import (
    BlameLine,
    ChangeRequest,
    ChangeWorkspace,
    CodeHost,
    SearchHit,
    SearchResult,
    check_commit,
    check_path,
)
from codehealth.repositories.local import LocalGitRepository

if TYPE_CHECKING:
    from codehealth.models import Repository

HostFactory = Callable[["Repository"], CodeHost]
_host_kinds: dict[str, HostFactory] = {}


def register_host_kind(kind: str, factory: HostFactory) -> None:
    _host_kinds[kind] = factory


def open_repository(repository: Repository) -> CodeHost:
    factory = _host_kinds.get(repository.kind)
    if factory is None:
        raise RepositoryUnavailable(
            f"repository {repository.name}: no client for {repository.get_kind_display()} "
            "repositories is installed yet"
        )
    return factory(repository)


def _open_local(repository: Repository) -> CodeHost:
    return LocalGitRepository(repository.path)


register_host_kind("local", _open_local)

__all__ = [
    "BlameLine",
    "ChangeRequest",
    "ChangeWorkspace",
    "CodeHost",
    "LocalGitRepository",
    "SearchHit",
    "SearchResult",
    "check_commit",
    "check_path",
    "open_repository",
    "register_host_kind",
]
