from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codehealth.models import Repository, RepositoryKind, Scan
from codehealth.services import scan_now
from engine.services.history import system_actor
from tests.codehealth.gitrepo import GitRepo, python_repo


@pytest.fixture(autouse=True)
def _work_dir(settings: Any, tmp_path: Path) -> None:
    """Checkouts, worktrees and tool caches of each test in its own folder."""
    settings.CODEHEALTH_WORK_DIR = tmp_path / "codehealth-work"


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., GitRepo]:
    def make(files: dict[str, str], *, name: str = "project", **kwargs: Any) -> GitRepo:
        return python_repo(tmp_path / name, files, **kwargs)

    return make


def register(repo: GitRepo, *, name: str = "project", **fields: Any) -> Repository:
    return Repository.objects.create(
        name=name,
        kind=RepositoryKind.LOCAL,
        path=str(repo.root),
        default_branch=repo.branch(),
        **fields,
    )


def scan(repository: Repository, ref: str = "") -> Scan:
    done = scan_now(repository=repository, ref=ref, actor=system_actor("test"))
    assert done.status == "done", done.error
    return done
