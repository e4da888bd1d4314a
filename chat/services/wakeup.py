"""Wake-up datagrams: how a publisher in another process tells the database relay to read now.

SQLite notifies no other process of a commit, and the in-memory channel layer carries nothing
between processes, so without this the relay learns of a new row only by polling. While its
relay runs, a Daphne process binds a Unix datagram socket in a directory that every process
sharing the database derives from it (``VAR_DIR/relay/<key of the database>/``); after its
transaction commits, a publisher sends one byte to each socket there: ``e`` for events, ``n``
for an operator notice. The byte only says "read now": the rows still come from the
database, in id order, so a wake-up that is lost, late, doubled or forged costs at most one
read, never an event. The relay polls every CHAT_RELAY_POLL_MS anyway, the safety net for a
wake-up that never came.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

EVENTS = b"e"
NOTICES = b"n"
SUFFIX = ".sock"
# A directory's mtime may be as coarse as a second on some filesystems: a publisher lists
# the sockets again at least this often, so a relay that registered unseen is found anyway.
RESCAN_SECONDS = 1.0


def wake_directory() -> Path:
    """Where the relays of the processes sharing this database register."""
    db = connections["default"].settings_dict
    names = (settings.VAR_DIR, db["ENGINE"], db["NAME"], db.get("HOST"), db.get("PORT"))
    directory = _directories.get(names)
    if directory is None:  # a publisher asks on every commit: resolve the path once
        directory = _directories[names] = Path(settings.VAR_DIR) / "relay" / database_key(db)
    return directory


_directories: dict[tuple[Any, ...], Path] = {}


def database_key(db: dict[str, Any]) -> str:
    """The same for every process that opens the same database, however it names the file."""
    if db["ENGINE"].endswith("sqlite3"):
        identity = os.path.realpath(str(db["NAME"]))
    else:
        identity = f"{db['ENGINE']}|{db.get('HOST') or ''}|{db.get('PORT') or ''}|{db['NAME']}"
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


class WakeListener:
    """The relay's end: a socket in the wake directory, read by the running event loop."""

    def __init__(self) -> None:
        self.woken = asyncio.Event()
        self.kinds: set[bytes] = set()
        self.path: Path | None = None
        self._transport: asyncio.BaseTransport | None = None

    async def open(self) -> bool:
        """Register; False (and a warning) where no socket can be bound, e.g. a path longer
        than AF_UNIX allows or a filesystem without sockets: the relay then polls."""
        directory = wake_directory()
        path = directory / f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            sock.bind(str(path))
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Wakes(self), sock=sock
            )
        except OSError as exc:
            sock.close()
            path.unlink(missing_ok=True)
            log.warning("chat relay: no wake-up socket at %s (%s); polling instead", path, exc)
            return False
        self.path = path
        return True

    def received(self, kind: bytes) -> None:
        self.kinds.add(kind)
        self.woken.set()

    def take(self) -> set[bytes]:
        """What woke the relay since the last take; a wake-up arriving after this wakes it
        again, so none is lost between taking and reading."""
        kinds, self.kinds = self.kinds, set()
        self.woken.clear()
        return kinds

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


class _Wakes(asyncio.DatagramProtocol):
    def __init__(self, listener: WakeListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.listener.received(data[:1])


class _Waker:
    """A publisher's end: one unbound socket per process, and the list of relays' sockets."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)  # a relay whose queue is full has wake-ups waiting
        self.lock = threading.Lock()
        self.directory: Path | None = None
        self.mtime = -1
        self.scanned_at = 0.0
        self.paths: list[str] = []

    def wake(self, kind: bytes) -> None:
        directory = wake_directory()
        try:
            mtime = directory.stat().st_mtime_ns
        except OSError:
            return  # no relay ever listened for this database
        with self.lock:
            now = time.monotonic()
            if (directory, mtime) != (self.directory, self.mtime) or (
                now - self.scanned_at > RESCAN_SECONDS
            ):
                self.paths = [str(p) for p in directory.glob(f"*{SUFFIX}")]
                self.directory, self.mtime, self.scanned_at = directory, mtime, now
            paths = self.paths
        for path in paths:
            try:
                self.sock.sendto(kind, path)
            except BlockingIOError:
                continue
            except ConnectionRefusedError:
                # Its process died without unlinking it (names are never reused, so this
                # cannot be a newer relay's socket).
                Path(path).unlink(missing_ok=True)
            except OSError:
                log.debug("chat relay: wake-up to %s failed", path, exc_info=True)


_waker: _Waker | None = None


def wake_relays(kind: bytes) -> None:
    """Tell every listening relay of this database to read now (after the commit)."""
    global _waker
    waker = _waker
    if waker is None or waker.pid != os.getpid():
        # A forked child (django-q2's workers) needs its own; no lock, so none is inherited
        # held: two threads racing here make one spare socket.
        waker = _waker = _Waker()
    waker.wake(kind)
