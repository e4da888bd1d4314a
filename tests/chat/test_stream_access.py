"""`session_event_stream` asks again who may watch, every heartbeat, as the websocket does."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from chat.api.stream import event_stream
from tests.chat.conftest import make_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


async def drain(stream: Any, limit: float) -> list[str]:
    async def read() -> list[str]:
        return [chunk async for chunk in stream]

    try:
        return await asyncio.wait_for(read(), timeout=limit)
    finally:
        # The stream read the database in asgiref's thread: close that connection there, or
        # PostgreSQL cannot drop the test database.
        await database_sync_to_async(connections.close_all)()


def test_a_followed_stream_ends_at_the_first_check_that_says_no(user: Any, settings: Any) -> None:
    settings.CHAT_WS_HEARTBEAT_SECONDS = 1
    session = make_session(user)
    answers = iter([True, False])
    asked: list[float] = []

    async def authorized() -> bool:
        asked.append(time.monotonic())
        return next(answers)

    started = time.monotonic()
    chunks = asyncio.run(
        drain(event_stream(session.pk, 0, follow=True, authorized=authorized), limit=5)
    )

    assert chunks[0] == ": stream open\n\n"
    assert chunks[-1] == ": access ended\n\n"
    assert any(chunk.startswith("id: 1\n") for chunk in chunks), "stored events went out first"
    assert len(asked) == 2
    assert asked[0] - started >= 0.9, "not before the first heartbeat"
    assert asked[1] - asked[0] >= 0.9, "then once a heartbeat"
