"""Who may watch a stream: a browser by its session cookie, another client by its API token.

`TokenAuthMiddleware` sits inside Channels' `AuthMiddlewareStack` (config/asgi.py) and, when
an ``Authorization: Token ...`` header is present, replaces the cookie's user with the
token's. The decision is taken again on every message and heartbeat, so a revoked token, a
demoted user or a browser login that ended loses the stream without reconnecting.

A browser's sockets also join a group named after its login (`login_group`); logging out
sends them a close there at once (`close_streams_on_logout`, connected in ChatConfig.ready).
Every socket also joins its user's group (`user_group`): a change to the user (deactivated,
no longer staff, a new password) or the revocation or deletion of their tokens asks those
sockets to decide again at once (`recheck_user_streams`), instead of at the next heartbeat.
The in-memory channel layer reaches only the process where the change was made; sockets
held by another process notice at their next check, because a cookie-authenticated user
holds only while the session row still names them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from chat.models import ChatSession
from chat.services.broadcast import send_to_group
from engine.models import hash_token
from engine.services import tokens

TOKEN_KEYWORDS = ("token", "bearer")


def token_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() != b"authorization":
            continue
        parts = value.decode("latin1").split()
        if len(parts) == 2 and parts[0].lower() in TOKEN_KEYWORDS:
            return parts[1]
        return ""  # a malformed header authenticates nobody
    return None


def user_for_token(raw: str) -> tuple[User | None, str]:
    """The active user behind a user token, and the token's digest, by the engine's one token
    check (`engine.services.tokens`); worker tokens watch no chat stream."""
    return tokens.user_for_token(raw), hash_token(raw)


def current_user(scope: dict[str, Any]) -> User | None:
    """The scope's user as the database knows it now (active, staff), or None. A token's
    user is looked up as the API looks it up, its use recorded by the same rule."""
    digest = scope.get("auth_token_hash")
    user: User | None
    if digest is not None:
        user = tokens.user_for_digest(digest)
    else:
        pk = getattr(scope.get("user"), "pk", None)
        user = User.objects.filter(pk=pk).first() if pk is not None else None
        if user is not None and not still_signed_in(session_key(scope), user):
            return None
    return user if user is not None and user.is_active else None


def session_key(scope: dict[str, Any]) -> str | None:
    return getattr(scope.get("session"), "session_key", None)


def still_signed_in(key: str | None, user: User) -> bool:
    """Whether the browser login `key` still names `user`, read afresh (the scope's copy of
    the session is from the handshake): False once it logged out, expired, or the password
    changed, as Django's own check on the next request would find."""
    if not key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    data = store.load()
    if data.get(SESSION_KEY) != str(user.pk):
        return False
    given = data.get(HASH_SESSION_KEY)
    if not given:
        return False
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    return any(constant_time_compare(given, expected) for expected in hashes)


def login_group(key: str) -> str:
    """The channel group of one browser login's sockets. Digested: the key is a credential,
    and a Redis layer would otherwise hold it in its keys."""
    return "chat.login." + hashlib.sha256(key.encode()).hexdigest()[:40]


def scope_login_group(scope: dict[str, Any]) -> str | None:
    """A cookie-authenticated socket's login group; None for a token client, whose access
    ends with its token, not with a browser's login."""
    if scope.get("auth_token_hash") is not None:
        return None
    key = session_key(scope)
    return login_group(key) if key else None


LOGGED_OUT = "stream.logged_out"  # the consumer method: stream_logged_out
RECHECK = "stream.recheck"  # the consumer method: stream_recheck


def user_group(user_id: int) -> str:
    return f"chat.user.{user_id}"


def recheck_user_streams(user_ids: Iterable[int]) -> None:
    """Ask the users' sockets to decide again, now, whether they may stay open."""
    for user_id in user_ids:
        send_to_group(user_group(user_id), {"type": RECHECK})


def recheck_after_user_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """`post_save`/`post_delete` receiver for users: once the change has committed."""
    user_id = instance.pk
    transaction.on_commit(lambda: recheck_user_streams([user_id]), robust=True)


def recheck_after_token_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    """`post_delete` receiver for API tokens: a deleted token, like a revoked one, lets
    nobody watch any more."""
    user_id = instance.user_id
    transaction.on_commit(lambda: recheck_user_streams([user_id]), robust=True)


def recheck_after_revocation(sender: Any, user_ids: Iterable[int], **kwargs: Any) -> None:
    """`engine.signals.api_tokens_revoked` receiver."""
    recheck_user_streams(user_ids)


def close_streams_on_logout(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """`user_logged_out` receiver: close that login's sockets now. Django sends the signal
    before it flushes the session, so the key is still there to name them by."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        send_to_group(login_group(key), {"type": LOGGED_OUT})


def may_watch(user: User | None, session_id: int) -> bool:
    if user is None:
        return False
    owner = ChatSession.objects.filter(pk=session_id).values_list("owner_id", flat=True).first()
    if owner is None and not ChatSession.objects.filter(pk=session_id).exists():
        return False
    return user.is_staff or owner == user.pk


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        raw = token_from_headers(scope.get("headers", []))
        if raw is not None:
            user, digest = await database_sync_to_async(user_for_token)(raw)
            scope = {**scope, "user": user or AnonymousUser(), "auth_token_hash": digest}
        return await super().__call__(scope, receive, send)
