"""The largest request body the application reads (REQUEST_MAX_BODY_BYTES), as an ASGI layer.

Under Daphne this layer alone would be too late: Daphne reads a whole body (into memory, or a
temporary file past 100 kB) before it calls the application, then queues all of it at once.
`config.daphne` refuses an oversized body inside Daphne, before reading it; this layer holds
the same limit under any other ASGI server (and inside tests): a declared Content-Length over
the limit is answered 413 without a byte read, and a body sent without one (chunked) is cut
off at the limit and answered 413. docs/security.md says what the reverse proxy adds.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def too_large_body(limit: int) -> bytes:
    """The 413's body, read alike by our API's clients (`detail`) and OpenAI's (`error`)."""
    message = f"The request body is larger than {limit} bytes."
    return json.dumps(
        {
            "detail": message,
            "code": "request_too_large",
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": "request_too_large",
            },
        }
    ).encode()


def declared_length(headers: Any) -> int | None:
    """The Content-Length of ASGI headers; None if absent or not a number."""
    for name, value in headers or []:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_too_large(send: Send, limit: int) -> None:
    body = too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.REQUEST_MAX_BODY_BYTES
        declared = declared_length(scope.get("headers"))
        if declared is not None and declared > limit:
            await _send_too_large(send, limit)
            return
        received = 0
        cut = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # To the application the client is gone: it stops reading and answers
                    # nothing; the 413 is sent below.
                    cut = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)
        if cut and not started:
            await _send_too_large(send, limit)
