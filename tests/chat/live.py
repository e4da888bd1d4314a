"""A real Daphne on a free port against the test database, and a real websocket client."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS


def redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(redis_url(), socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def channel_layers() -> list[Any]:
    """The layers a live test runs on: in-memory always, Redis when one answers."""
    redis = pytest.param(
        "redis", marks=pytest.mark.skipif(not redis_reachable(), reason="no Redis reachable")
    )
    return ["memory", redis]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url_for_children() -> str:
    """The database pytest-django set up, as a DATABASE_URL a child process understands."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def layer_settings(layer: str, prefix: str) -> dict[str, Any]:
    if layer == "redis":
        return {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [redis_url()], "prefix": prefix},
            }
        }
    return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


class Daphne:
    def __init__(
        self,
        *,
        layer: str,
        extra_env: dict[str, str] | None = None,
        asgi: str = "config.asgi:application",
        options: tuple[str, ...] = (),
    ) -> None:
        self.layer = layer
        self.port = free_port()
        self.prefix = f"jgchat-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_children(),
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "SECURE_COOKIES": "false",
            "LOG_LEVEL": "WARNING",
            "CHANNELS_REDIS_PREFIX": self.prefix,
            "CHAT_WS_HEARTBEAT_SECONDS": "1",
            **(extra_env or {}),
        }
        env.pop("REDIS_URL", None)
        if layer == "redis":
            env["REDIS_URL"] = redis_url()
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "config.daphne", "-b", "127.0.0.1", "-p", str(self.port)),
                *options,
                asgi,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_until_listening()

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _wait_until_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("daphne did not start listening")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class StreamClient:
    """A websocket client in a thread of its own, collecting what it receives."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.opened = threading.Event()
        self.done = threading.Event()
        self.status: int | None = None
        self.close_code: int | None = None
        self._ws: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        self.opened.wait(15)

    async def _main(self) -> None:
        try:
            async with websockets.connect(
                self.url, additional_headers=self.headers, open_timeout=10
            ) as ws:
                self._ws, self._loop = ws, asyncio.get_running_loop()
                self.opened.set()
                try:
                    async for raw in ws:
                        self.received.put(json.loads(raw))
                finally:
                    self.close_code = ws.close_code
        except InvalidStatus as exc:
            self.status = exc.response.status_code
        except ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd else None
        finally:
            self.opened.set()
            self.done.set()

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self.done.is_set()

    def send(self, message: dict[str, Any]) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._ws.send(json.dumps(message)), self._loop).result(5)

    def collect(
        self, until: Callable[[dict[str, Any]], bool], timeout: float = 15
    ) -> list[dict[str, Any]]:
        """Events (pings left out) up to and including the first that satisfies `until`."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; got {[(e['seq'], e['type']) for e in events]}")
            try:
                event = self.received.get(timeout=remaining)
            except queue.Empty:
                continue
            if event["type"] == "ping":
                continue
            events.append(event)
            if until(event):
                return events

    def next_ping(self, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.received.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if event["type"] == "ping":
                return event
        raise AssertionError("no ping")

    def close(self) -> None:
        if self._loop is not None and not self.done.is_set():
            asyncio.run_coroutine_threadsafe(self._ws.close(), self._loop).result(5)
        self._thread.join(10)


@contextmanager
def stream(url: str, headers: dict[str, str]) -> Iterator[StreamClient]:
    client = StreamClient(url, headers)
    try:
        yield client
    finally:
        client.close()
