"""Who may watch a stream: a browser by its session cookie, another client by its API token.

`TokenAuthMiddleware` sits inside Channels' `AuthMiddlewareStack` (config/asgi.py) and, when
an ``Authorization: Token ...`` header is present, replaces the cookie's user with the
token's. The decision is taken again on every message, so a revoked token or a demoted
user loses the stream without reconnecting.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone

from chat.models import ChatSession
from engine.models import ApiToken, hash_token
from engine.services.workers import WORKER_TOKEN_PREFIX

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
    """The active user behind a user token, and the token's digest; worker tokens watch no
    chat stream."""
    digest = hash_token(raw)
    if not raw or raw.startswith(WORKER_TOKEN_PREFIX):
        return None, digest
    token = ApiToken.objects.select_related("user").filter(token_hash=digest).first()
    if token is None or token.revoked or not token.user.is_active:
        return None, digest
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user, digest


def current_user(scope: dict[str, Any]) -> User | None:
    """The scope's user as the database knows it now (active, staff), or None."""
    digest = scope.get("auth_token_hash")
    user: User | None
    if digest is not None:
        token = ApiToken.objects.select_related("user").filter(token_hash=digest).first()
        if token is None or token.revoked:
            return None
        user = token.user
    else:
        pk = getattr(scope.get("user"), "pk", None)
        user = User.objects.filter(pk=pk).first() if pk is not None else None
    return user if user is not None and user.is_active else None


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
