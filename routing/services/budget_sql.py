"""The budget statements that run on every model call, in SQL.

They run inside the lock, and the ORM spent several times longer compiling them than the
database spent running them (measured with bench/gateway.py), so they are written once here.
All of them work on PostgreSQL and SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from routing.models import MONEY_PLACES, ZERO, BudgetCounter, BudgetReservation

MONEY = Decimal(1).scaleb(-MONEY_PLACES)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _money(value: Any) -> Decimal:
    # SQLite hands decimals back as floats; quantizing is what the ORM does with them too.
    return ZERO if value is None else Decimal(str(value)).quantize(MONEY)


def counter_keys(*, mode: str, day: date, session_ref: str) -> list[str]:
    keys = [f"mode:{mode}:{day.isoformat()}"]
    if session_ref:
        keys.append(f"session:{session_ref}")
    return sorted(keys)  # one order everywhere, so two lockers never deadlock


def lock_counters(keys: list[str]) -> dict[str, Decimal]:
    """Lock the scopes' counters FOR UPDATE (on SQLite the IMMEDIATE transaction holds the
    database already), creating missing ones, and return what each has spent. Read after the
    lock is granted, the values include every charge committed before."""
    table, key, spent = _q(BudgetCounter._meta.db_table), _q("key"), _q("spent")
    marks = ", ".join(["%s"] * len(keys))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # Only quoted names and placeholders are interpolated; the values go as parameters.
    sql = f"SELECT {key}, {spent} FROM {table} WHERE {key} IN ({marks}) ORDER BY {key}{lock}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, keys)
        rows = cursor.fetchall()
        if len(rows) < len(keys):
            BudgetCounter.objects.bulk_create(
                [BudgetCounter(key=k) for k in keys], ignore_conflicts=True
            )
            cursor.execute(sql, keys)
            rows = cursor.fetchall()
    return {row[0]: _money(row[1]) for row in rows}


def write_counters(values: dict[str, Decimal]) -> None:
    """Set locked counters to the amounts computed (in Decimal) from what they held."""
    table, key, spent = _q(BudgetCounter._meta.db_table), _q("key"), _q("spent")
    sql = f"UPDATE {table} SET {spent} = %s WHERE {key} = %s"  # noqa: S608
    adapt = connection.ops.adapt_decimalfield_value
    with connection.cursor() as cursor:
        for name in sorted(values):
            cursor.execute(sql, [adapt(values[name], 20, MONEY_PLACES), name])


@dataclass(frozen=True)
class Held:
    """Money in flight: live reservations, per scope."""

    day: Decimal
    session: Decimal


def held(*, mode: str, day: date, session_ref: str, now: datetime) -> Held:
    """One statement over the reservations, which only calls in flight have, so it stays small."""
    ops = connection.ops
    table = _q(BudgetReservation._meta.db_table)
    sql = (
        "SELECT "  # noqa: S608 - only a quoted table name is interpolated
        f"(SELECT SUM(amount) FROM {table} WHERE mode = %s AND day = %s AND expires_at > %s), "
        f"(SELECT SUM(amount) FROM {table} WHERE session_ref = %s AND session_ref <> '' "
        "AND expires_at > %s)"
    )
    moment = ops.adapt_datetimefield_value(now)
    params = [mode, ops.adapt_datefield_value(day), moment, session_ref, moment]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        day_total, session_total = cursor.fetchone()
    return Held(day=_money(day_total), session=_money(session_total))


def relax_durability() -> None:
    """This transaction need not wait for its WAL flush (PostgreSQL). For a reservation that
    is safe: it only matters while its call is in flight, and a database crash ends those."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
