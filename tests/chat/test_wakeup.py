"""Wake-up datagrams over real Unix sockets: a commit wakes every relay listening for its
database, and only once it has committed; a dead relay's socket is cleared away."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from chat.services import publish, publish_ops_notice
from chat.services.wakeup import (
    EVENTS,
    NOTICES,
    WakeListener,
    database_key,
    wake_directory,
    wake_relays,
)
from tests.chat.conftest import make_session

SQLITE = "django.db.backends.sqlite3"
ALERT = {
    "alert": 1,
    "title": "disk full",
    "severity": "high",
    "fingerprint": "f",
    "task": None,
    "url": "/",
}


@pytest.fixture(autouse=True)
def own_var_dir(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    # Wake-ups are for the in-memory layer, whatever REDIS_URL this run has.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def relay_socket() -> Iterator[socket.socket]:
    """A bare socket registered where a relay's would be, read without blocking."""
    directory = wake_directory()
    directory.mkdir(parents=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(directory / "1-test.sock"))
    sock.settimeout(5)
    yield sock
    sock.close()


def pending(sock: socket.socket) -> bytes | None:
    """What has arrived already, without waiting."""
    sock.settimeout(0)
    try:
        return sock.recv(16)
    except BlockingIOError:
        return None
    finally:
        sock.settimeout(5)


def test_a_wake_up_reaches_every_relay_listening_for_the_database() -> None:
    async def scenario() -> list[set[bytes]]:
        first, second = WakeListener(), WakeListener()
        assert await first.open()
        assert await second.open()
        try:
            await asyncio.to_thread(wake_relays, EVENTS)  # from a thread, as a worker's code
            await asyncio.wait_for(asyncio.gather(first.woken.wait(), second.woken.wait()), 5)
            return [first.take(), second.take()]
        finally:
            first.close()
            second.close()

    assert asyncio.run(scenario()) == [{EVENTS}, {EVENTS}]
    assert list(wake_directory().iterdir()) == [], "a closed listener unregisters"


def test_a_relay_that_registers_later_is_woken_at_once() -> None:
    async def scenario() -> set[bytes]:
        early = WakeListener()
        assert await early.open()
        wake_relays(EVENTS)  # the publisher has now listed the sockets once
        late = WakeListener()
        assert await late.open()
        try:
            wake_relays(NOTICES)
            await asyncio.wait_for(late.woken.wait(), 5)
            return late.take()
        finally:
            early.close()
            late.close()

    assert asyncio.run(scenario()) == {NOTICES}


def test_a_dead_relays_socket_is_cleared_and_the_living_still_woken(
    relay_socket: socket.socket,
) -> None:
    dead = wake_directory() / "999999-dead.sock"
    left_behind = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    left_behind.bind(str(dead))
    left_behind.close()  # its process died without unlinking it

    wake_relays(EVENTS)

    assert not dead.exists()
    assert relay_socket.recv(16) == EVENTS


def test_a_relay_that_cannot_bind_says_so_and_leaves_nothing(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings.VAR_DIR = tmp_path / ("deep" * 30)  # past what AF_UNIX allows in a path

    async def scenario() -> bool:
        listener = WakeListener()
        opened = await listener.open()
        listener.close()
        return opened

    assert asyncio.run(scenario()) is False
    assert "polling instead" in caplog.text
    assert list(wake_directory().iterdir()) == []


def test_the_directory_is_one_per_database(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")

    def sqlite(path: Path) -> str:
        return database_key({"ENGINE": SQLITE, "NAME": str(path)})

    def postgres(name: str) -> str:
        engine = "django.db.backends.postgresql"
        return database_key({"ENGINE": engine, "HOST": "db", "PORT": 5432, "NAME": name})

    assert sqlite(tmp_path / "real" / "a.sqlite3") == sqlite(tmp_path / "link" / "a.sqlite3")
    assert sqlite(tmp_path / "real" / "a.sqlite3") != sqlite(tmp_path / "real" / "b.sqlite3")
    assert postgres("juggernaut") != postgres("test_juggernaut")


@pytest.mark.django_db(transaction=True)
def test_a_publish_wakes_the_relays_once_it_commits(user: Any, relay_socket: socket.socket) -> None:
    session = make_session(user)
    while pending(relay_socket):
        pass  # the session's own session.created

    with transaction.atomic():
        publish(session.pk, "error", {"message": "m", "code": "c"})
        assert pending(relay_socket) is None, "not before the row is there to read"
    assert relay_socket.recv(16) == EVENTS

    with transaction.atomic():
        publish_ops_notice("alert", ALERT)
        assert pending(relay_socket) is None
    assert relay_socket.recv(16) == NOTICES


@pytest.mark.django_db(transaction=True)
def test_wake_ups_off_send_nothing(user: Any, settings: Any, relay_socket: socket.socket) -> None:
    settings.CHAT_RELAY_WAKE = False
    session = make_session(user)

    publish(session.pk, "error", {"message": "m", "code": "c"})
    publish_ops_notice("alert", ALERT)

    assert pending(relay_socket) is None
