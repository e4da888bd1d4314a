"""API authentication: user tokens and worker tokens, both stored as digests.

``Authorization: Token <token>`` (or ``Bearer <token>``, for OpenAI-style clients). A worker
token authenticates a `WorkerPrincipal`, which may only act as its own worker.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from engine.models import ApiToken, Worker, hash_token
from engine.services.workers import WORKER_TOKEN_PREFIX
from engine.token_cache import TokenOwner, recent_owners

LAST_USED_RESOLUTION = timedelta(minutes=1)


class WorkerPrincipal:
    """The request's user when a worker token was presented."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.pk = None

    def __str__(self) -> str:
        return f"worker:{self.worker.name}"

    def get_username(self) -> str:
        return f"worker:{self.worker.name}"


@cache
def _token_user_sql(vendor: str) -> str:
    # Only quoted names are interpolated; values go as parameters. `vendor` keys the cache
    # because quoting differs between backends.
    del vendor
    quote = connection.ops.quote_name
    user_model = get_user_model()
    users, tokens = quote(user_model._meta.db_table), quote(ApiToken._meta.db_table)
    pk_column = str(user_model._meta.pk.column) if user_model._meta.pk else "id"
    columns = ", ".join(
        f"u.{quote(f.column)}" for f in user_model._meta.concrete_fields if f.column
    )
    return (
        f"SELECT {columns}, t.{quote('id')} AS token_id, t.{quote('revoked')} AS token_revoked, "  # noqa: S608
        f"CASE WHEN t.{quote('last_used_at')} IS NULL OR t.{quote('last_used_at')} < %s "
        "THEN 1 ELSE 0 END AS token_unused_since "
        f"FROM {tokens} t JOIN {users} u ON u.{quote(pk_column)} = "
        f"t.{quote('user_id')} WHERE t.{quote('token_hash')} = %s"
    )


def token_owner(digest: str, *, used_before: datetime) -> TokenOwner | None:
    """Who a user token's digest belongs to, and the token's state.

    Every API request asks this first; one join, its SQL built once per process, takes a
    fraction of what the ORM spent compiling the query it replaces (bench/gateway.py)."""
    moment = connection.ops.adapt_datetimefield_value(used_before)
    user_model = get_user_model()
    rows = user_model._default_manager.raw(_token_user_sql(connection.vendor), [moment, digest])
    user = next(iter(rows), None)
    if user is None:
        return None
    return TokenOwner(
        user=user,
        token_id=int(getattr(user, "token_id")),  # noqa: B009 - a column of the raw query
        revoked=bool(getattr(user, "token_revoked")),  # noqa: B009
        unused_since=bool(getattr(user, "token_unused_since")),  # noqa: B009
    )


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header: 'Token <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        digest = hash_token(raw)
        if raw.startswith(WORKER_TOKEN_PREFIX):
            worker = Worker.objects.filter(token_hash=digest).first()
            if worker is None:
                raise exceptions.AuthenticationFailed("Invalid worker token.")
            return WorkerPrincipal(worker), raw
        owner = recent_owners.get(digest)
        if owner is None:
            now = timezone.now()
            generation = recent_owners.generation
            owner = token_owner(digest, used_before=now - LAST_USED_RESOLUTION)
            if owner is None or owner.revoked or not owner.user.is_active:
                raise exceptions.AuthenticationFailed("Invalid token.")
            # At most one write a minute per token: a durable commit on every API request
            # would cost more than the request itself.
            if owner.unused_since:
                ApiToken.objects.filter(pk=owner.token_id).update(last_used_at=now)
            recent_owners.put(digest, owner, generation=generation)
        return copy.copy(owner.user), raw  # each request its own, should one change it

    def authenticate_header(self, request: Request) -> str:
        return "Token"
