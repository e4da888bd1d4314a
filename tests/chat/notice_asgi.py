"""The site's ASGI app plus one test-only route that publishes an operator notice from inside
the Daphne process (where, with the in-memory layer, the /ws/ops/ consumers live)."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async

from config.asgi import application as site

NOTICE_PATH = "/test-only/ops-notice/"


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http" or scope["path"] != NOTICE_PATH:
        await site(scope, receive, send)
        return
    from chat.services import publish_ops_notice

    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    notice = json.loads(body)
    await sync_to_async(publish_ops_notice)(notice["kind"], notice["data"])
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
