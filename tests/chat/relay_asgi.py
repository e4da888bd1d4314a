"""The site's ASGI app plus one test-only route that tells how many queries the Daphne
process has run: what the database relay costs while nothing happens."""

from __future__ import annotations

import json
import threading
from typing import Any

from django.db.backends.signals import connection_created

from config.asgi import application as site

QUERIES_PATH = "/test-only/queries/"


class _Count:
    queries = 0
    lock = threading.Lock()


def _counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    with _Count.lock:
        _Count.queries += 1
    return execute(sql, params, many, context)


def _count_on(sender: Any, connection: Any, **kwargs: Any) -> None:
    # With PostgreSQL's pool a thread's wrapper "connects" on every checkout: wrap it once,
    # or each query would count once per checkout so far.
    if _counted not in connection.execute_wrappers:
        connection.execute_wrappers.append(_counted)


connection_created.connect(_count_on)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http" or scope["path"] != QUERIES_PATH:
        await site(scope, receive, send)
        return
    body = json.dumps({"queries": _Count.queries}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
