from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from codehealth.github import GitHubClient, GitHubRepo
from tests.codehealth.fake_github import REPO, TOKEN, FakeGitHub


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
