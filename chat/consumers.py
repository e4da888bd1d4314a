"""The websocket streams: one chat session's events, and the operator-wide status stream.

Resume without gap or duplicate: the consumer joins the session's group first, then sends
the stored events after the client's ``?after=<seq>``; live events queue meanwhile (a
consumer handles one message at a time). Every event then goes out in seq order: one at or
below the last sent is dropped, one beyond the next is preceded by the missing range read
from the database. The heartbeat carries the newest stored seq, so a lost tail is noticed
and filled too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chat.auth import current_user, may_watch, scope_login_group, user_group
from chat.services.publisher import (
    OPS_GROUP,
    events_after,
    latest_seq,
    ping_envelope,
    session_group,
)
from chat.services.relay import relay, relay_needed

log = logging.getLogger(__name__)

REFUSED = 4403  # the close code for "not yours to watch"
REPLAY_PAGE = 500


class StreamConsumer(AsyncJsonWebsocketConsumer):
    """What both streams share: authorization on connect and on every message, closing when
    the browser login behind it logs out, the heartbeat, the relay's lifetime."""

    group = ""
    login_group: str | None = None
    user_group: str | None = None
    _heartbeat: asyncio.Task[None] | None = None
    _relayed = False

    async def authorized(self) -> bool:
        raise NotImplementedError

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without the trip to the sync thread it takes before every
        message to close stale connections: these consumers reach the database only through
        database_sync_to_async, which does that itself. At 100 sessions of 10 events a second
        the trips were a thousand a second, and the relay's reads queued behind them."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def start(self) -> bool:
        if not await self.authorized():
            await self.close(code=REFUSED)  # before accept: the handshake gets a 403
            return False
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.login_group = scope_login_group(self.scope)
        if self.login_group is not None:
            await self.channel_layer.group_add(self.login_group, self.channel_name)
        user_id = getattr(self.scope.get("user"), "pk", None)
        if user_id is not None:
            self.user_group = user_group(user_id)
            await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.accept()
        if relay_needed():
            await relay.acquire()
            self._relayed = True
        self._heartbeat = asyncio.ensure_future(self._beat())
        return True

    async def disconnect(self, code: int) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.login_group is not None:
            await self.channel_layer.group_discard(self.login_group, self.channel_name)
        if self.user_group is not None:
            await self.channel_layer.group_discard(self.user_group, self.channel_name)
        if self._relayed:
            relay.release()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not await self.authorized():
            await self.close(code=REFUSED)
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.ping()

    async def _beat(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(settings.CHAT_WS_HEARTBEAT_SECONDS)
                try:
                    if not await self.authorized():
                        await self.close(code=REFUSED)
                        return
                    await self.channel_layer.send(self.channel_name, {"type": "stream.beat"})
                except ChannelFull:
                    # The consumer is behind: messages are queued for it already, and a beat
                    # is only a liveness hint (and a check for a lost tail), so this one is
                    # dropped and the next interval sends another.
                    log.debug("stream heartbeat dropped: %s is full", self.channel_name)
                except Exception:
                    # Raised out, it would end the heartbeat for the socket's lifetime, and
                    # with it the access check and the lost-tail check.
                    log.warning("stream heartbeat failed; the next one tries again", exc_info=True)

    async def stream_beat(self, message: dict[str, Any]) -> None:
        await self.ping()

    async def stream_logged_out(self, message: dict[str, Any]) -> None:
        """The browser login behind this socket logged out (chat.auth.close_streams_on_logout)."""
        await self.close(code=REFUSED)

    async def stream_recheck(self, message: dict[str, Any]) -> None:
        """The user behind this socket changed, or their tokens were revoked
        (chat.auth.recheck_user_streams): decide again now."""
        if not await self.authorized():
            await self.close(code=REFUSED)

    async def ping(self) -> None:
        raise NotImplementedError


class SessionStreamConsumer(StreamConsumer):
    """``/ws/chat/<session id>/?after=<seq>``: the session's events, in order, exactly once."""

    async def connect(self) -> None:
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.group = session_group(self.session_id)
        self.last_sent = 0
        if not await self.start():
            return
        after = _after(self.scope)
        newest = await database_sync_to_async(latest_seq)(self.session_id) or 0
        self.last_sent = min(after, newest) if after is not None else newest
        await self.fill()

    async def authorized(self) -> bool:
        def check() -> bool:
            return may_watch(current_user(self.scope), self.session_id)

        return bool(await database_sync_to_async(check)())

    async def fill(self, upto: int | None = None) -> None:
        """Send stored events after the last one sent (up to `upto`)."""
        while True:
            page = await database_sync_to_async(events_after)(
                self.session_id, self.last_sent, limit=REPLAY_PAGE, upto=upto
            )
            for envelope in page:
                await self.send_json(envelope)
                self.last_sent = envelope["seq"]
            if len(page) < REPLAY_PAGE:
                return

    async def chat_events(self, message: dict[str, Any]) -> None:
        for envelope in message["events"]:
            seq = envelope["seq"]
            if seq <= self.last_sent:
                continue
            if seq > self.last_sent + 1:
                await self.fill(upto=seq - 1)  # the layer dropped some: read them back
            if seq == self.last_sent + 1:
                await self.send_json(envelope)
                self.last_sent = seq

    async def ping(self) -> None:
        newest = await database_sync_to_async(latest_seq)(self.session_id) or 0
        if newest > self.last_sent:
            await self.fill()
        await self.send_json(ping_envelope(self.session_id, newest))


class OpsStreamConsumer(StreamConsumer):
    """``/ws/ops/``: status, approvals and stops of every session the user may see (all of
    them for staff), and operator-wide notices. Live only; the pages it feeds load their
    state over HTTP."""

    group = OPS_GROUP

    async def connect(self) -> None:
        self.seen: dict[int, int] = {}
        self.user_id: int | None = None
        self.staff = False
        await self.start()

    async def authorized(self) -> bool:
        user = await database_sync_to_async(current_user)(self.scope)
        if user is None:
            return False
        self.user_id, self.staff = user.pk, user.is_staff
        return True

    async def ops_events(self, message: dict[str, Any]) -> None:
        if not self.staff and message.get("owner") != self.user_id:
            return
        for envelope in message["events"]:
            session, seq = envelope["session"], envelope["seq"]
            if seq <= self.seen.get(session, 0):
                continue  # the relay and a direct send may both deliver it
            self.seen[session] = seq
            await self.send_json(envelope)

    async def ops_notice(self, message: dict[str, Any]) -> None:
        for envelope in message["events"]:  # system-wide: every signed-in user sees them
            await self.send_json(envelope)

    async def ping(self) -> None:
        await self.send_json(ping_envelope(None, None))


def _after(scope: dict[str, Any]) -> int | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    values = query.get("after")
    if not values:
        return None
    try:
        return max(int(values[0]), 0)
    except ValueError:
        return None
