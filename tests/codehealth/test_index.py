"""The package index client against a local server speaking PyPI's and npm's JSON."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from codehealth.dependencies.index import IndexSettings, IndexUnreachable, PackageIndex
from tests.codehealth.fake_index import FakeIndex


@pytest.fixture
def index_server() -> Iterator[FakeIndex]:
    fake = FakeIndex(
        pypi={"django": ["5.1", "5.2.9"], "requests": ["2.32.3"]},
        npm={"lodash": ["4.17.20", "4.17.21"], "@types/node": ["20.0.0", "22.1.0"]},
    ).start()
    yield fake
    fake.stop()


def client(fake: FakeIndex, tmp_path: Path, *, cache_seconds: int = 0) -> PackageIndex:
    return PackageIndex(
        IndexSettings(
            pypi_url=fake.url,
            npm_url=fake.url,
            timeout=5,
            cache_seconds=cache_seconds,
            cache_dir=tmp_path / "cache",
        )
    )


def test_latest_releases_come_from_each_index(index_server: FakeIndex, tmp_path: Path) -> None:
    index = client(index_server, tmp_path)

    assert index.latest("PyPI", "django").version == "5.2.9"
    assert index.latest("npm", "lodash").version == "4.17.21"
    assert index.latest("npm", "@types/node").version == "22.1.0"
    assert [r.path for r in index_server.requests] == [
        "/pypi/django/json",
        "/lodash",
        "/@types%2Fnode",
    ]


def test_an_unknown_package_is_none_not_an_error(index_server: FakeIndex, tmp_path: Path) -> None:
    index = client(index_server, tmp_path)

    assert index.latest("PyPI", "no-such-thing").version is None
    assert index.latest("npm", "no-such-thing").version is None


def test_a_stale_answer_is_asked_again_with_its_etag(
    index_server: FakeIndex, tmp_path: Path
) -> None:
    index = client(index_server, tmp_path, cache_seconds=0)
    index.latest("PyPI", "django")

    again = index.latest("PyPI", "django")

    assert again.version == "5.2.9"
    assert index_server.requests[-1].headers.get("If-None-Match", "").startswith('"')


def test_a_fresh_answer_is_not_asked_again(index_server: FakeIndex, tmp_path: Path) -> None:
    client(index_server, tmp_path, cache_seconds=3600).latest("PyPI", "django")

    # Another scan, another client: the disk cache answers.
    assert client(index_server, tmp_path, cache_seconds=3600).latest("PyPI", "django").version
    assert len(index_server.requests) == 1


def test_an_index_answering_errors_is_unreachable(index_server: FakeIndex, tmp_path: Path) -> None:
    index_server.failing = 503
    with pytest.raises(IndexUnreachable, match="answered 503"):
        client(index_server, tmp_path).latest("PyPI", "django")


def test_an_index_that_cannot_be_reached_is_asked_once(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    index = PackageIndex(IndexSettings(f"http://127.0.0.1:{port}", "", 2, 0, tmp_path / "cache"))

    with pytest.raises(IndexUnreachable, match="PyPI index unreachable"):
        index.latest("PyPI", "django")
    with pytest.raises(IndexUnreachable, match="PyPI index unreachable"):
        index.latest("PyPI", "requests")  # not tried: offline, no timeout per package
    with pytest.raises(IndexUnreachable, match="no npm index"):
        index.latest("npm", "lodash")


def test_an_index_answering_503_is_asked_no_more_in_this_scan(
    index_server: FakeIndex, tmp_path: Path
) -> None:
    index_server.failing = 503
    index = client(index_server, tmp_path)
    for name in ("django", "requests"):
        with pytest.raises(IndexUnreachable, match="answered 503"):
            index.latest("PyPI", name)

    assert len(index_server.requests) == 1
