"""The rows every model call reads first (its policy, its models' prices and health), in SQL.

Compiling these three querysets took longer than running them (0.15 ms of ~0.25 ms each on
PostgreSQL, measured with bench/gateway.py), so the statements are built once per process;
the ORM still turns the rows into model instances, converters included. No cache: a policy
edited in the admin, a price synced or a model cooling down counts from the next call on.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Model

from routing.models import ModelHealth, ModelPrice, Policy


@cache
def _select(model: type[Model], key: str, vendor: str) -> str:
    # Only quoted names are interpolated; the values always go as parameters. `vendor` is
    # in the key because quoting differs between backends.
    del vendor
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in model._meta.concrete_fields if f.column)
    return f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {quote(key)}"  # noqa: S608


def policy_row(mode: str) -> Policy | None:
    sql = _select(Policy, "mode", connection.vendor) + " = %s"
    return next(iter(Policy.objects.raw(sql, [mode])), None)


def price_rows(model_ids: list[str]) -> dict[str, ModelPrice]:
    if not model_ids:
        return {}
    sql = _select(ModelPrice, "model_id", connection.vendor)
    sql += f" IN ({', '.join(['%s'] * len(model_ids))})"
    return {row.model_id: row for row in ModelPrice.objects.raw(sql, model_ids)}


def health_rows(model_ids: list[str]) -> dict[str, ModelHealth]:
    if not model_ids:
        return {}
    sql = _select(ModelHealth, "model_id", connection.vendor)
    sql += f" IN ({', '.join(['%s'] * len(model_ids))})"
    return {row.model_id: row for row in ModelHealth.objects.raw(sql, model_ids)}
