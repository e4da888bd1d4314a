"""Versions behind the newest release, asked of a local index; offline, a note."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from codehealth.models import Finding, ToolRun
from tests.codehealth.conftest import register, scan
from tests.codehealth.fake_index import FakeIndex
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db

FILES = {
    "requirements.txt": "django==5.1\nrequests==2.32.3\nleft-pad==1.0\n",
    "package.json": '{"dependencies": {"lodash": "^4.17.0"}}',
    "package-lock.json": '{"lockfileVersion": 3, "packages": {"node_modules/lodash": '
    '{"version": "3.10.1"}}}',
}


@pytest.fixture
def index(settings: Any) -> Iterator[FakeIndex]:
    fake = FakeIndex(
        pypi={"django": ["5.1", "5.2.9"], "requests": ["2.32.3"]},
        npm={"lodash": ["3.10.1", "4.17.21"]},
    ).start()
    settings.CODEHEALTH_PYPI_URL = fake.url
    settings.CODEHEALTH_NPM_URL = fake.url
    yield fake
    fake.stop()


def test_packages_behind_their_newest_release_are_found(
    make_repo: Callable[..., GitRepo], index: FakeIndex
) -> None:
    repository = register(make_repo(FILES))

    done = scan(repository)

    found = {
        (f.path, f.anchor, f.severity)
        for f in Finding.objects.filter(repository=repository, tool="outdated")
    }
    assert found == {
        ("requirements.txt", "django", "info"),
        ("package.json", "lodash", "low"),  # a major version behind
    }
    django = Finding.objects.get(repository=repository, tool="outdated", anchor="django")
    assert "django 5.1 is behind 5.2.9 (source: PyPI as of " in django.message
    assert ToolRun.objects.get(scan=done, tool="outdated").partial == ""


def test_offline_the_scan_says_index_unreachable_and_closes_nothing(
    make_repo: Callable[..., GitRepo], index: FakeIndex, settings: Any
) -> None:
    repository = register(make_repo(FILES))
    scan(repository)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings.CODEHEALTH_PYPI_URL = settings.CODEHEALTH_NPM_URL = closed
    settings.CODEHEALTH_INDEX_CACHE_SECONDS = 0

    done = scan(repository)

    run = ToolRun.objects.get(scan=done, tool="outdated")
    assert run.status == "ok" and "PyPI index unreachable" in run.partial
    assert any(n.startswith("outdated: PyPI index unreachable") for n in done.notes)
    assert not Finding.objects.filter(repository=repository, tool="outdated", state="fixed")


def test_a_rescan_reusing_an_offline_run_still_closes_nothing(
    make_repo: Callable[..., GitRepo], index: FakeIndex, settings: Any
) -> None:
    repo = make_repo(FILES)
    repository = register(repo)
    scan(repository)
    assert Finding.objects.filter(repository=repository, tool="outdated").count() == 2
    index.failing = 503
    settings.CODEHEALTH_INDEX_CACHE_SECONDS = 0
    repo.write("README.md", "shop\n")
    repo.commit("readme")
    offline = scan(repository)
    assert "answered 503" in ToolRun.objects.get(scan=offline, tool="outdated").partial

    again = scan(repository)  # the same commit, the same tools: reused, partial included

    assert again.reused_from_id == offline.pk
    assert any(n.startswith("outdated: PyPI index answered 503") for n in again.notes)
    assert not Finding.objects.filter(repository=repository, tool="outdated", state="fixed")
