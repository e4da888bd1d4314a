"""The rows every model call reads first (its policy, its models' prices and health), kept
for a moment in the process.

Reading them cost three queries per call, more than the rest of the gateway's own work
(measured with bench/gateway.py), and they change rarely: a policy or a price when an
operator edits one or `sync_models` runs, a model's health when it fails or recovers. So
each row is kept for `ROUTING_LOOKUP_SECONDS` (default 1 s; 0 reads every time). A change
saved through the ORM, or through `routing.services.health`, clears this process's copies at
once (signals connected in `RoutingConfig.ready()`), so the process that made it sees it on
its next call; other processes (the worker running chat agents, another Daphne) see it
within `ROUTING_LOOKUP_SECONDS`. A missing row is remembered too: a model without a price
stays without one until the table changes or the moment passes.

The rows handed out are shared by every thread of the process: read them, never change them.
A policy is the exception (callers such as chat read it beside other state and could be
tempted), so `policy_row` hands out a copy.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import JSONField, Model

from routing.models import ModelHealth, ModelPrice, Policy

Row = TypeVar("Row", bound=Model)


@cache
def _select(model: type[Model], key: str, vendor: str) -> str:
    # Only quoted names are interpolated; the values always go as parameters. `vendor` is
    # in the key because quoting differs between backends.
    del vendor
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields if f.column)
    return f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {quote(key)}"  # noqa: S608


class RowCache(Generic[Row]):
    """Rows of one table by key, each with the moment it was read.

    `clear()` bumps a generation, so a read that was under way while the table changed does
    not put its stale rows back. A change saved inside a transaction is cleared again when it
    commits: until then other connections still read the old row, and a read made in between
    would keep it."""

    def __init__(self, load: Callable[[list[str]], dict[str, Row]]) -> None:
        self._load = load
        self._rows: dict[str, tuple[Row | None, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[str]) -> dict[str, Row]:
        keys = list(keys)
        ttl = float(settings.ROUTING_LOOKUP_SECONDS)
        now = time.monotonic()
        found: dict[str, Row] = {}
        missing: list[str] = []
        for key in keys:
            entry = self._rows.get(key) if ttl > 0 else None
            if entry is None or now - entry[1] >= ttl:
                missing.append(key)
            elif entry[0] is not None:
                found[key] = entry[0]
        if missing:
            generation = self._generation
            loaded = self._load(missing)
            found.update(loaded)
            if ttl > 0:
                with self._lock:
                    if generation == self._generation:
                        for key in missing:
                            self._rows[key] = (loaded.get(key), now)
        return found

    def clear(self, *args: Any, using: str | None = None, **kwargs: Any) -> None:
        """Forget every row now, and again when the transaction under way commits (usable as
        a signal receiver)."""
        self._forget()
        if transaction.get_connection(using).in_atomic_block:
            transaction.on_commit(self._forget, using=using)

    def _forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._rows = {}


def _load_policies(modes: list[str]) -> dict[str, Policy]:
    sql = _select(Policy, "mode", connection.vendor) + f" IN ({', '.join(['%s'] * len(modes))})"
    return {row.mode: row for row in Policy.objects.raw(sql, modes)}


def _load_prices(model_ids: list[str]) -> dict[str, ModelPrice]:
    sql = _select(ModelPrice, "model_id", connection.vendor)
    sql += f" IN ({', '.join(['%s'] * len(model_ids))})"
    return {row.model_id: row for row in ModelPrice.objects.raw(sql, model_ids)}


def _load_health(model_ids: list[str]) -> dict[str, ModelHealth]:
    sql = _select(ModelHealth, "model_id", connection.vendor)
    sql += f" IN ({', '.join(['%s'] * len(model_ids))})"
    return {row.model_id: row for row in ModelHealth.objects.raw(sql, model_ids)}


policies: RowCache[Policy] = RowCache(_load_policies)
prices: RowCache[ModelPrice] = RowCache(_load_prices)
healths: RowCache[ModelHealth] = RowCache(_load_health)
CACHES: dict[type[Model], RowCache[Any]] = {
    Policy: policies,
    ModelPrice: prices,
    ModelHealth: healths,
}


def clear_all() -> None:
    for rows in CACHES.values():
        rows.clear()


def policy_row(mode: str) -> Policy | None:
    row = policies.get_many([mode]).get(mode)
    if row is None:
        return None
    mine = copy.copy(row)
    for name in _POLICY_LISTS:  # a shallow copy would share these lists with the cache
        setattr(mine, name, copy.deepcopy(getattr(row, name)))
    return mine


_POLICY_LISTS = [f.attname for f in Policy._meta.concrete_fields if isinstance(f, JSONField)]


def price_rows(model_ids: list[str]) -> dict[str, ModelPrice]:
    return prices.get_many(model_ids) if model_ids else {}


def health_rows(model_ids: list[str]) -> dict[str, ModelHealth]:
    return healths.get_many(model_ids) if model_ids else {}
