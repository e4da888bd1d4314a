"""Bodies over REQUEST_MAX_BODY_BYTES, sent as an attacker would: a huge Content-Length to a
real Daphne (started as `serve` starts it), a chunked body without end; and the ASGI layer
that holds the limit under other servers."""

from __future__ import annotations

import asyncio
import select
import socket
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from config.body_limit import BodySizeLimit
from tests.chat.live import Daphne

LIMIT = 1024 * 1024
HUGE = 600 * 1024 * 1024
MIB = 1024 * 1024


@pytest.fixture
def daphne(transactional_db: None) -> Iterator[Daphne]:
    server = Daphne(layer="memory", extra_env={"REQUEST_MAX_BODY_BYTES": str(LIMIT)})
    yield server
    server.stop()


def rss(server: Daphne) -> int:
    return int(psutil.Process(server.process.pid).memory_info().rss)


def read_answer(sock: socket.socket, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return answer


def push(sock: socket.socket, data: bytes, *, total: int) -> int:
    """Send `data` until `total` bytes went or the server stops taking them (it answered,
    or closed); how much it took."""
    sent = 0
    sock.setblocking(False)
    try:
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable or not writable:
                break
            sent += sock.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.setblocking(True)
    return sent


def head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


@pytest.mark.live
def test_a_huge_content_length_is_refused_before_its_body_is_read(daphne: Daphne) -> None:
    before = rss(daphne)
    with socket.create_connection(("127.0.0.1", daphne.port), timeout=5) as sock:
        sock.sendall(
            head("/api/logs/ingest/", f"Content-Length: {HUGE}", "Content-Type: text/plain")
        )
        started = time.monotonic()
        answer = read_answer(sock)
        took = time.monotonic() - started
        taken = push(sock, b"x" * MIB, total=64 * MIB)

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code": "request_too_large"' in answer
    assert took < 5
    assert taken < 16 * MIB, "the server kept reading a refused body"
    assert rss(daphne) - before < 20 * MIB


@pytest.mark.live
def test_expect_continue_gets_the_413_and_no_invitation(daphne: Daphne) -> None:
    with socket.create_connection(("127.0.0.1", daphne.port), timeout=5) as sock:
        sock.sendall(
            head("/v1/chat/completions", f"Content-Length: {HUGE}", "Expect: 100-continue")
        )
        answer = read_answer(sock)

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"100 Continue" not in answer


@pytest.mark.live
def test_a_chunked_body_is_cut_off_at_the_limit(daphne: Daphne) -> None:
    before = rss(daphne)
    chunk = b"x" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", daphne.port), timeout=5) as sock:
        sock.sendall(head("/api/tasks/", "Transfer-Encoding: chunked"))
        taken = push(sock, framed, total=200 * MIB)
        answer = read_answer(sock)

    assert taken < 32 * MIB, "the server read on past the limit"
    # The answer may be lost to the reset of a connection closed mid-body; when it arrives,
    # it is the 413.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert rss(daphne) - before < 20 * MIB


@pytest.mark.live
def test_a_body_within_the_limit_still_reaches_the_application(daphne: Daphne) -> None:
    body = b'{"title": "t", "kind": "echo"}'
    with socket.create_connection(("127.0.0.1", daphne.port), timeout=5) as sock:
        sock.sendall(
            head(
                "/api/tasks/",
                f"Content-Length: {len(body)}",
                "Content-Type: application/json",
                "Connection: close",
            )
            + body
        )
        answer = read_answer(sock)

    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


# --- The ASGI layer -------------------------------------------------------------------


class Recorder:
    """An application that reads the whole body as Django does, and says what it got."""

    def __init__(self) -> None:
        self.body = b""
        self.disconnected = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                return
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def drive(
    app: Any, messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]
) -> tuple[list[dict[str, Any]], int]:
    sent: list[dict[str, Any]] = []
    queue = list(messages)
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/tasks/", "headers": headers}
    asyncio.run(app(scope, receive, send))
    return sent, read


def test_the_asgi_layer_refuses_a_declared_length_without_reading(settings: Any) -> None:
    settings.REQUEST_MAX_BODY_BYTES = LIMIT
    inner = Recorder()

    sent, read = drive(BodySizeLimit(inner), [], [(b"content-length", str(HUGE).encode())])

    assert sent[0]["status"] == 413
    assert read == 0
    assert inner.body == b""


def test_the_asgi_layer_cuts_a_chunked_body_at_the_limit(settings: Any) -> None:
    settings.REQUEST_MAX_BODY_BYTES = LIMIT
    inner = Recorder()
    chunks = [{"type": "http.request", "body": b"x" * 65536, "more_body": True}] * 40

    sent, read = drive(BodySizeLimit(inner), chunks, [])

    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]
    assert inner.disconnected
    assert len(inner.body) <= LIMIT
    assert read <= LIMIT // 65536 + 1


def test_the_asgi_layer_passes_a_body_within_the_limit(settings: Any) -> None:
    settings.REQUEST_MAX_BODY_BYTES = LIMIT
    inner = Recorder()
    chunks = [
        {"type": "http.request", "body": b"a" * 1000, "more_body": True},
        {"type": "http.request", "body": b"b" * 1000, "more_body": False},
    ]

    sent, _ = drive(BodySizeLimit(inner), chunks, [(b"content-length", b"2000")])

    assert sent[0]["status"] == 200
    assert inner.body == b"a" * 1000 + b"b" * 1000
