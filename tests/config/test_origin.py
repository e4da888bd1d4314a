"""Opening a stream from another page on the same host: the Origin's port must match."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from config.origin import same_origin


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # another service on the box
        ("https://ops.example.com", "ops.example.com", True),
        ("https://ops.example.com:8443", "ops.example.com", False),
        ("http://ops.example.com", "ops.example.com:443", False),
        ("https://evil.example", "ops.example.com", False),
        ("null", "ops.example.com", False),
        (None, "ops.example.com", False),
        ("http://127.0.0.1:notaport", "127.0.0.1:8000", False),
    ],
)
def test_same_origin(origin: str | None, host: str, allowed: bool) -> None:
    assert same_origin(origin, host) is allowed


def test_a_trusted_origin_is_accepted_as_it_is(settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://ops.example.com:8443"]

    assert same_origin("https://ops.example.com:8443", "ops.example.com")


def test_a_page_on_another_port_cannot_open_a_stream() -> None:
    from config.asgi import application

    async def connect() -> bool:
        communicator = WebsocketCommunicator(
            application,
            "/ws/ops/",
            headers=[(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1:9999")],
        )
        connected, _ = await communicator.connect()
        return bool(connected)

    assert not asyncio.run(connect())
