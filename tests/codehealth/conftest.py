from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from codehealth.github import GitHubClient, GitHubRepo
from codehealth.models import Repository, RepositoryKind, Scan
from codehealth.repositories import github_access
from codehealth.services import scan_now
from engine.services.history import system_actor
from tests.codehealth.fake_github import REPO, TOKEN, FakeGitHub
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


class FakeClock:
    """The client's clock and sleep: a sleep is recorded and moves the clock, at once."""

    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub().start()
    yield fake
    fake.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def github(fake_github: FakeGitHub, clock: FakeClock) -> Iterator[GitHubClient]:
    client = GitHubClient(
        token=TOKEN,
        base_url=fake_github.base_url,
        clock=clock.time,
        sleep=clock.sleep,
        write_interval=0,
    )
    yield client
    client.close()


@pytest.fixture
def repo(github: GitHubClient) -> GitHubRepo:
    return github.repo(REPO)


@pytest.fixture
def github_api(
    fake_github: FakeGitHub, clock: FakeClock, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> FakeGitHub:
    """The GitHub repository kind pointed at the fake, waiting on the fake clock, with a
    blob cache of its own."""
    settings.GITHUB_API_URL = fake_github.base_url
    settings.GITHUB_TOKEN = ""
    monkeypatch.setattr(github_access, "CLOCK", clock.time)
    monkeypatch.setattr(github_access, "SLEEP", clock.sleep)
    monkeypatch.setattr(github_access, "SHARED_BLOBS", github_access.BlobCache())
    return fake_github


@pytest.fixture
def github_repository(github_api: FakeGitHub, db: None) -> Repository:
    return Repository.objects.create(
        name="hello",
        kind=RepositoryKind.GITHUB,
        github_name=REPO,
        default_branch="master",
        token=TOKEN,
        test_command="{python} -c pass",
    )


def push(fake: FakeGitHub, files: dict[str, str | bytes], *, message: str = "change") -> str:
    """A new commit on master holding exactly `files` (the fake's "git push")."""
    encoded = {p: c.encode() if isinstance(c, str) else c for p, c in files.items()}
    fake.head = fake.commit(encoded, parents=[fake.refs["master"]], message=message)
    fake.refs["master"] = fake.head
    return fake.head
