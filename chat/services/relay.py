"""The database relay, for the in-memory channel layer only.

The in-memory layer does not cross processes, and the agent loop runs in a worker process:
its events would never reach the Daphne process holding the browsers' sockets. So while a
Daphne process has stream consumers, one task in it reads new event rows (and operator
notices) and hands them to its own layer: when a publisher's wake-up datagram says a row
was committed (chat.services.wakeup), and every CHAT_RELAY_POLL_MS in any case. Without
wake-ups (CHAT_RELAY_WAKE off, or no socket could be bound) it polls every 25 ms instead.
With Redis the layer carries events between processes and the relay stays off.

Rows are read in id order. Where ids could commit out of order (PostgreSQL), a row the relay
skipped shows up as a gap in seq, which the consumer fills from the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

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
from chat.services.wakeup import EVENTS, NOTICES, WakeListener

log = logging.getLogger(__name__)

BATCH = 1000
FALLBACK_POLL_MS = 25  # without wake-ups, how often the relay reads
# A wake-up within this long of the last read waits out the rest: under load one read then
# carries ten milliseconds of events, not one, and the reads (a thread hop each, contending
# for the GIL with Daphne's event loop) stay near a hundred a second at most. An event after
# a quiet spell is read at once.
GATHER_MS = 10

P = ParamSpec("P")
T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None

__all__ = ["DatabaseRelay", "relay", "relay_needed"]


def _newest_ids() -> tuple[int, int]:
    """Where both cursors start: nothing stored before the relay starts is sent again."""
    newest_event = ChatEvent.objects.order_by("-id").values_list("id", flat=True).first()
    newest_notice = OpsNotice.objects.order_by("-id").values_list("id", flat=True).first()
    return newest_event or 0, newest_notice or 0


def _notices_after(cursor: int) -> list[tuple[int, dict[str, Any]]]:
    return [(row.pk, row.envelope()) for row in OpsNotice.objects.filter(id__gt=cursor)[:BATCH]]


def _rows_after(cursor: int) -> list[tuple[int, int | None, dict[str, Any]]]:
    return ChatEvent.objects.relayed_after(cursor, BATCH)


class DatabaseRelay:
    def __init__(self) -> None:
        self.users = 0
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.wakes: WakeListener | None = None

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
        if self.users == 0 and self.wakes is not None:
            self.wakes.woken.set()  # end now, not a poll later: nobody should wake it in vain

    async def _run(self) -> None:
        layer = get_channel_layer()
        wakes = self.wakes = WakeListener()
        try:
            listening = settings.CHAT_RELAY_WAKE and await wakes.open()
            pause = (settings.CHAT_RELAY_POLL_MS if listening else FALLBACK_POLL_MS) / 1000
            try:
                cursor, notice_cursor = await _read(_newest_ids)()
            finally:
                self.ready.set()
            kinds, polled = {EVENTS, NOTICES}, time.monotonic()
            while self.users > 0:
                read_at = time.monotonic()
                if NOTICES in kinds:
                    notice_cursor = await self._relay_notices(layer, notice_cursor)
                if EVENTS in kinds:
                    cursor, full = await self._relay_events(layer, cursor)
                    if full:
                        kinds = {EVENTS}
                        continue  # more rows are waiting: read on at once
                woken = await _woken(wakes, pause)
                since = time.monotonic() - read_at
                if woken and since < GATHER_MS / 1000 and self.users > 0:
                    await asyncio.sleep(GATHER_MS / 1000 - since)
                kinds = wakes.take()  # before reading: a wake-up from now on wakes it again
                if not woken or time.monotonic() - polled >= pause:
                    kinds, polled = {EVENTS, NOTICES}, time.monotonic()
        finally:
            wakes.close()  # no await here: a consumer arriving now must find the task done

    async def _relay_notices(self, layer: Any, cursor: int) -> int:
        try:
            notices = await _read(_notices_after)(cursor)
        except Exception:
            # A database hiccup must not end the relay: the next read tries again.
            log.warning("chat relay: reading notices failed", exc_info=True)
            return cursor
        if notices:
            events = [envelope for _, envelope in notices]
            await layer.group_send(OPS_GROUP, {"type": OPS_NOTICES, "events": events})
            return notices[-1][0]
        return cursor

    async def _relay_events(self, layer: Any, cursor: int) -> tuple[int, bool]:
        """Send the rows after `cursor`; the new cursor, and whether the batch was full."""
        try:
            rows = await _read(_rows_after)(cursor)
        except Exception:
            log.warning("chat relay: reading events failed", exc_info=True)
            return cursor, False
        if rows:
            await self._send(layer, rows)
            return rows[-1][0], len(rows) >= BATCH
        return cursor, False

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


async def _woken(wakes: WakeListener, pause: float) -> bool:
    try:
        await asyncio.wait_for(wakes.woken.wait(), pause)
    except TimeoutError:
        return False
    return True


def _read(func: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """Run a read on the relay's own thread. On the thread that consumers share, each read
    queued behind their turns there (channels takes one for every message a consumer
    handles, a thousand a second at 100 sessions of 10 events)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-relay")
    return database_sync_to_async(func, thread_sensitive=False, executor=_executor)


relay = DatabaseRelay()
