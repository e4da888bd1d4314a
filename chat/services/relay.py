"""The database relay, for the in-memory channel layer only.

The in-memory layer does not cross processes, and the agent loop runs in a worker process:
its events would never reach the Daphne process holding the browsers' sockets. So while a
Daphne process has stream consumers, one task in it reads new event rows (and operator
notices) every CHAT_RELAY_POLL_MS and hands them to its own layer. With Redis the layer
carries events between processes and the relay stays off.

Rows are read in id order. Where ids could commit out of order (PostgreSQL), a row the relay
skipped shows up as a gap in seq, which the consumer fills from the database.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from chat.events import ops_types
from chat.models import ChatEvent, OpsNotice
from chat.services.broadcast import relay_needed
from chat.services.publisher import (
    OPS_EVENTS,
    OPS_GROUP,
    OPS_NOTICES,
    SESSION_EVENTS,
    session_group,
)

log = logging.getLogger(__name__)

BATCH = 1000

__all__ = ["DatabaseRelay", "relay", "relay_needed"]


def _newest_ids() -> tuple[int, int]:
    """Where both cursors start: nothing stored before the relay starts is sent again."""
    newest_event = ChatEvent.objects.order_by("-id").values_list("id", flat=True).first()
    newest_notice = OpsNotice.objects.order_by("-id").values_list("id", flat=True).first()
    return newest_event or 0, newest_notice or 0


def _notices_after(cursor: int) -> list[tuple[int, dict[str, Any]]]:
    return [(row.pk, row.envelope()) for row in OpsNotice.objects.filter(id__gt=cursor)[:BATCH]]


def _rows_after(cursor: int) -> list[tuple[int, int | None, dict[str, Any]]]:
    rows = (
        ChatEvent.objects.filter(id__gt=cursor)
        .order_by("id")
        .select_related("session")
        .only("id", "seq", "type", "data", "created_at", "session_id", "session__owner_id")
    )[:BATCH]
    return [(row.pk, row.session.owner_id, row.envelope()) for row in rows]


class DatabaseRelay:
    def __init__(self) -> None:
        self.users = 0
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def acquire(self) -> None:
        """Count a consumer in; return once the relay reads from a cursor taken now, so that
        nothing the consumer's own replay misses escapes the relay too."""
        self.users += 1
        if self.task is None or self.task.done():
            # Set before any await: consumers connecting together must start only one relay.
            self.ready = asyncio.Event()
            self.task = asyncio.ensure_future(self._run())
        await self.ready.wait()

    def release(self) -> None:
        self.users = max(self.users - 1, 0)

    async def _run(self) -> None:
        layer = get_channel_layer()
        pause = settings.CHAT_RELAY_POLL_MS / 1000
        try:
            cursor, notice_cursor = await database_sync_to_async(_newest_ids)()
        finally:
            self.ready.set()
        while self.users > 0:
            try:
                notices = await database_sync_to_async(_notices_after)(notice_cursor)
            except Exception:
                log.warning("chat relay: reading notices failed", exc_info=True)
                notices = []
            if notices:
                notice_cursor = notices[-1][0]
                events = [envelope for _, envelope in notices]
                await layer.group_send(OPS_GROUP, {"type": OPS_NOTICES, "events": events})
            try:
                rows = await database_sync_to_async(_rows_after)(cursor)
            except Exception:
                # A database hiccup must not end the relay: the next poll tries again.
                log.warning("chat relay: reading events failed", exc_info=True)
                await asyncio.sleep(pause)
                continue
            if rows:
                cursor = rows[-1][0]
                await self._send(layer, rows)
            if len(rows) < BATCH:
                await asyncio.sleep(pause)

    async def _send(self, layer: Any, rows: list[tuple[int, int | None, dict[str, Any]]]) -> None:
        by_session: dict[int, list[dict[str, Any]]] = {}
        by_owner: dict[int | None, list[dict[str, Any]]] = {}
        relayed = ops_types()
        for _, owner_id, envelope in rows:
            by_session.setdefault(envelope["session"], []).append(envelope)
            if envelope["type"] in relayed:
                by_owner.setdefault(owner_id, []).append(envelope)
        for session_id, events in by_session.items():
            await layer.group_send(
                session_group(session_id), {"type": SESSION_EVENTS, "events": events}
            )
        for owner_id, events in by_owner.items():
            await layer.group_send(
                OPS_GROUP, {"type": OPS_EVENTS, "owner": owner_id, "events": events}
            )


relay = DatabaseRelay()
