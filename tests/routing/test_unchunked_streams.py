"""Streams whose body is not chunked arrive as they are sent: ended by the server closing
the connection, or sized by a Content-Length (issue 15: `iter_content(chunk_size=None)` read
such a body whole, so a 30 s answer came as one delta at its end, and through the gateway
the first token came after 3.9 s instead of 0.08 s)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from engine.services import create_api_token
from routing.gateway.asgi import GatewayFastPath
from routing.models import ModelCall, Outcome
from routing.providers import OpenAICompatibleProvider
from routing.types import ProviderRequest
from tests.factories import UserFactory
from tests.routing.raw_sse_server import RawSSEServer, events

PARTS = ["one ", "two ", "three ", "four ", "five"]
DELAY = 0.4  # between events: the whole answer takes about 3 s
ASK = [{"role": "user", "content": "count"}]


@pytest.fixture(params=["close", "length"])
def server(request: Any) -> Iterator[RawSSEServer]:
    raw = RawSSEServer(events(PARTS), delay=DELAY, framing=request.param).start()
    yield raw
    raw.stop()


def test_the_provider_hands_over_each_event_as_it_arrives(server: RawSSEServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, read_timeout=5)
    request = ProviderRequest(model="openai/gpt-4o-mini", messages=ASK, stream=True)
    started = time.monotonic()
    arrivals: list[tuple[float, str]] = []

    sending = provider.send(request)
    try:
        while True:
            delta = next(sending)
            arrivals.append((time.monotonic() - started, delta.text))
    except StopIteration as stop:
        result = stop.value

    finished = time.monotonic() - started
    assert result.content == "".join(PARTS)
    assert [text for _, text in arrivals] == PARTS
    assert finished >= DELAY * len(PARTS)
    # The first word comes when it is sent, not with the whole answer; the rest as sent.
    assert arrivals[0][0] < finished - DELAY * 3
    assert arrivals[-1][0] - arrivals[0][0] >= DELAY * (len(PARTS) - 2)


async def _first_token_time(app: GatewayFastPath, token: str) -> tuple[float, float, bytes]:
    body = json.dumps({"model": "mode:ops", "messages": ASK, "stream": True}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    started = time.monotonic()
    first: float | None = None
    sent: list[bytes] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(60)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal first
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))
            if first is None and b'"content":"one ' in message.get("body", b""):
                first = time.monotonic() - started

    await asyncio.wait_for(app(scope, receive, send), timeout=20)
    assert first is not None
    return first, time.monotonic() - started, b"".join(sent)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("routing_defaults")
def test_through_the_gateway_the_first_token_comes_when_it_is_sent(
    server: RawSSEServer, settings: Any
) -> None:
    settings.ROUTING_PROVIDER = "openai_compatible"
    settings.OPENAI_COMPATIBLE_BASE_URL = server.base_url
    settings.ROUTING_MAX_RETRIES = 0
    token = create_api_token(user=UserFactory(), name="agent")[1]

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the gateway serves /v1/ itself")

    app = GatewayFastPath(inner)
    try:
        first, finished, content = asyncio.run(_first_token_time(app, token))
    finally:
        app.close()

    # Read whole, the body would give its first token with the last, after about 2.4 s.
    assert first < finished - DELAY * 3, f"first token after {first:.2f} of {finished:.2f} s"
    assert content.endswith(b"data: [DONE]\n\n")
    call = ModelCall.objects.get()
    assert call.outcome == Outcome.OK and call.first_token_ms is not None
    assert call.latency_ms >= DELAY * len(PARTS) * 1000
