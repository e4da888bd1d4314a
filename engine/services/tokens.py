"""The token check: who a user token or a worker token belongs to. One implementation for
every face that takes a token: the REST API and the gateway (through DRF's
`engine.authentication.ApiTokenAuthentication`) and chat's websockets and event streams
(`chat.auth`).

One rule for `last_used_at`: a successful check of a user token records its use, at most
once a minute per token (`LAST_USED_RESOLUTION`); a durable write on every request would
cost more than the request. Who a user token belongs to is kept per process for
`API_TOKEN_CACHE_SECONDS` (`engine.token_cache`).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from engine.models import ApiToken, Worker, hash_token
from engine.services.workers import WORKER_TOKEN_PREFIX
from engine.token_cache import TokenOwner, recent_owners

LAST_USED_RESOLUTION = timedelta(minutes=1)


def is_worker_token(raw: str) -> bool:
    return raw.startswith(WORKER_TOKEN_PREFIX)


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
    """Who a user token's digest belongs to, and the token's state, read now.

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


def user_for_digest(digest: str) -> Any | None:
    """The active user whose live token has this digest, or None; records the use."""
    owner = recent_owners.get(digest)
    if owner is None:
        now = timezone.now()
        generation = recent_owners.generation
        owner = token_owner(digest, used_before=now - LAST_USED_RESOLUTION)
        if owner is None or owner.revoked or not owner.user.is_active:
            return None
        if owner.unused_since:
            ApiToken.objects.filter(pk=owner.token_id).update(last_used_at=now)
        recent_owners.put(digest, owner, generation=generation)
    return copy.copy(owner.user)  # each caller its own, should one change it


def user_for_token(raw: str) -> Any | None:
    """The active user behind a user token, or None (a worker token is no user's)."""
    if not raw or is_worker_token(raw):
        return None
    return user_for_digest(hash_token(raw))


def worker_for_token(raw: str) -> Worker | None:
    """The worker a worker token belongs to, or None."""
    if not is_worker_token(raw):
        return None
    return Worker.objects.filter(token_hash=hash_token(raw)).first()
