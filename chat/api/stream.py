"""`session_event_stream`: a session's events as server-sent events, for clients without websockets.

``GET /api/chat/sessions/<id>/stream/?after=<seq>`` (or the ``Last-Event-ID`` header) sends
the stored events after that seq to the end of the session's log, then, while a run is under
way (or when there was nothing to replay), new ones as they are stored until that run stops
(``?follow=1``: until the client leaves). A replay once ended at the first ``run.stopped``
it met, so a session of three runs replayed as one. Each message's ``id`` is the event's seq, so a
reconnecting EventSource resumes without a gap. It reads the database, so it works the same
on every channel layer. Who may watch is decided again as often as the websocket does it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from chat.auth import current_user, may_watch, token_from_headers, user_for_token
from chat.models import ACTIVE_STATES, ChatSession
from chat.services.publisher import events_after, latest_seq

POLL_SECONDS = 0.1
KEEPALIVE_SECONDS = 15.0
PAGE = 500


Authorize = Callable[[], Awaitable[bool]]


async def _caller(request: HttpRequest) -> tuple[User | None, dict[str, Any]]:
    """The user, and what the websocket's check reads to decide again later (chat.auth's
    `current_user`): the token's digest, or the browser login."""
    headers = [(k.lower().encode(), v.encode("latin1")) for k, v in request.headers.items()]
    raw = token_from_headers(headers)
    if raw is not None:
        user, digest = await database_sync_to_async(user_for_token)(raw)
        return user, {"auth_token_hash": digest}
    user = await request.auser()
    if not isinstance(user, User) or not user.is_active:
        return None, {}
    return user, {"user": user, "session": request.session}


def _recheck(scope: dict[str, Any], session_id: int) -> Authorize:
    """The websocket's rule, asked again: a revoked token, a demoted user or a browser login
    that ended loses the stream."""

    def check() -> bool:
        return may_watch(current_user(scope), session_id)

    async def authorized() -> bool:
        return bool(await database_sync_to_async(check)())

    return authorized


def _start(request: HttpRequest) -> int | None:
    value = request.headers.get("Last-Event-ID") or request.GET.get("after")
    if value is None:
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        return -1


def sse(envelope: dict[str, Any]) -> str:
    return f"id: {envelope['seq']}\nevent: {envelope['type']}\ndata: {json.dumps(envelope)}\n\n"


def log_end(session_id: int) -> tuple[int, bool]:
    """The session's newest seq and whether a run is under way, read together: a run's
    `run.stopped` and its state change are stored in one transaction."""
    row = ChatSession.objects.filter(pk=session_id).values_list("last_seq", "state").first()
    if row is None:
        return 0, False
    return row[0], row[1] in ACTIVE_STATES


async def event_stream(
    session_id: int, after: int, *, follow: bool, authorized: Authorize | None = None
) -> AsyncIterator[str]:
    """Stored events after `after`, then new ones. Without `follow` it ends at the end of
    the stored log when no run is under way; otherwise at the first `run.stopped` stored
    after the stream opened. Who may watch is asked again every CHAT_WS_HEARTBEAT_SECONDS,
    as the websocket does; once the answer is no, the stream ends."""
    end, running = await database_sync_to_async(log_end)(session_id)
    # A replay of a finished log ends with it; a stream with nothing to replay watches the
    # next run, as it always did.
    ends_with_log = not follow and after < end and not running
    last = after
    quiet_since = time.monotonic()
    next_check = quiet_since + settings.CHAT_WS_HEARTBEAT_SECONDS
    yield ": stream open\n\n"
    while True:
        if authorized is not None and time.monotonic() >= next_check:
            next_check = time.monotonic() + settings.CHAT_WS_HEARTBEAT_SECONDS
            if not await authorized():
                yield ": access ended\n\n"
                return
        page = await database_sync_to_async(events_after)(session_id, last, limit=PAGE)
        for envelope in page:
            yield sse(envelope)
            last = envelope["seq"]
            if envelope["type"] == "run.stopped" and not follow and last > end:
                return
            if ends_with_log and last >= end:
                return
        if page:
            quiet_since = time.monotonic()
            if len(page) == PAGE:
                continue
        elif time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)


@require_GET
async def session_event_stream(request: HttpRequest, session_id: int) -> HttpResponseBase:
    user, scope = await _caller(request)
    if user is None:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    if not await database_sync_to_async(may_watch)(user, session_id):
        return JsonResponse({"detail": "No such session."}, status=404)
    after = _start(request)
    if after == -1:
        return JsonResponse({"after": ["A whole number (a seq)."]}, status=400)
    if after is None:
        after = await database_sync_to_async(latest_seq)(session_id) or 0
    follow = request.GET.get("follow") in {"1", "true", "yes"}
    response = StreamingHttpResponse(
        event_stream(session_id, after, follow=follow, authorized=_recheck(scope, session_id)),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
