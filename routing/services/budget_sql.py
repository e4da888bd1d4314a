"""The budget statements that run on every model call, in SQL.

The ORM spent several times longer compiling them than the database spent running them
(measured with bench/gateway.py), so they are written once here. On PostgreSQL each round
trip to the server costs more than the statement (0.1-0.3 ms on the build machine), so a
reservation is one call of the `routing_reserve` function (migration 0004:
create missing counters, lock them, sum, check, insert) and a settlement one statement
(ledger_sql.py), and relaxing a transaction's durability rides on that statement instead
of a SET. SQLite gets plain statements in one IMMEDIATE transaction, which holds the
database: one SELECT for what the scopes have spent and hold, one INSERT.

Relaxed durability (synchronous_commit off for one transaction, PostgreSQL): the commit
returns once its WAL is in memory and the WAL writer flushes it within ~3 x
wal_writer_delay. The transaction stays atomic and ordered (a crash of the database server
can lose the last ones whole, never half of one), so consistency holds; only the durability
of the last fraction of a second is traded. Never inside a caller's transaction: that would
relax the caller's writes too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection

from routing.models import ZERO, BudgetCounter, BudgetReservation
from routing.money import MONEY_DIGITS, MONEY_PLACES, MONEY_QUANTUM

MONEY = MONEY_QUANTUM
RELAX = "set_config('synchronous_commit', 'off', true)"
RESERVATION_COLUMNS = ("mode", "day", "session_ref", "amount", "created_at", "expires_at")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _money(value: Any) -> Decimal:
    # SQLite hands decimals back as floats; quantizing is what the ORM does with them too.
    return ZERO if value is None else Decimal(str(value)).quantize(MONEY)


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def can_relax() -> bool:
    """Whether a transaction started now may commit without its WAL flush: it must be ours
    (not nested in a caller's, nor in one begun by turning autocommit off) and on
    PostgreSQL. Ask before entering it."""
    return _postgresql() and connection.get_autocommit()


@dataclass(frozen=True)
class Ceilings:
    session: Decimal | None
    daily: Decimal | None


@dataclass(frozen=True)
class Scope:
    """The budget scopes one call counts against: its mode's UTC day, and its session."""

    mode: str
    day: date
    session_ref: str

    @property
    def day_key(self) -> str:
        return f"mode:{self.mode}:{self.day.isoformat()}"

    @property
    def session_key(self) -> str | None:
        return f"session:{self.session_ref}" if self.session_ref else None


@dataclass(frozen=True)
class Committed:
    """Money spent plus money in flight, per scope (None: the call has no session)."""

    day: Decimal
    session: Decimal | None


def counter_keys(*, mode: str, day: date, session_ref: str) -> list[str]:
    scope = Scope(mode=mode, day=day, session_ref=session_ref)
    # One order everywhere, so two lockers never deadlock.
    return sorted(key for key in (scope.day_key, scope.session_key) if key)


def _create_counters(keys: list[str]) -> None:
    BudgetCounter.objects.bulk_create([BudgetCounter(key=k) for k in keys], ignore_conflicts=True)


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
            _create_counters(keys)
            cursor.execute(sql, keys)
            rows = cursor.fetchall()
    return {row[0]: _money(row[1]) for row in rows}


def charge_counters(keys: list[str], amount: Decimal) -> None:
    """Add `amount` to the scopes' counters, creating missing ones, inside the caller's
    transaction. PostgreSQL adds in the UPDATE (numeric arithmetic is exact, and the row lock
    it takes is the one a reservation waits for); SQLite stores these columns as floats, so
    there the sum is made in Decimal from the value read under the transaction's lock."""
    table, key, spent = _q(BudgetCounter._meta.db_table), _q("key"), _q("spent")
    adapt = connection.ops.adapt_decimalfield_value
    if not _postgresql():
        sql = f"UPDATE {table} SET {spent} = %s WHERE {key} = %s"  # noqa: S608
        held_now = lock_counters(keys)
        with connection.cursor() as cursor:
            for name in keys:
                cursor.execute(
                    sql, [adapt(held_now[name] + amount, MONEY_DIGITS, MONEY_PLACES), name]
                )
        return
    sql = f"UPDATE {table} SET {spent} = {spent} + %s WHERE {key} = %s"  # noqa: S608
    value = adapt(amount, MONEY_DIGITS, MONEY_PLACES)
    with connection.cursor() as cursor:
        for name in keys:  # sorted: the order reservations lock them in
            cursor.execute(sql, [value, name])
            if cursor.rowcount == 0:
                _create_counters([name])
                cursor.execute(sql, [value, name])


@cache
def _hold_sql(vendor: str) -> tuple[str, str]:
    """The SELECT of what the scopes have committed, and the reservation's INSERT. Built once:
    quoting names through the connection on every call was a tenth of the reservation's time
    on SQLite. `vendor` keys the cache because quoting differs between backends."""
    del vendor
    reservations = _q(BudgetReservation._meta.db_table)
    counters, key, spent = _q(BudgetCounter._meta.db_table), _q("key"), _q("spent")
    columns = ", ".join(_q(name) for name in RESERVATION_COLUMNS)
    # Only quoted names and placeholders are interpolated; the values go as parameters.
    totals = (
        f"SELECT (SELECT {spent} FROM {counters} WHERE {key} = %s), "  # noqa: S608
        f"(SELECT {spent} FROM {counters} WHERE {key} = %s), "
        f"(SELECT SUM(amount) FROM {reservations} WHERE mode = %s AND day = %s "
        "AND expires_at > %s), "
        f"(SELECT SUM(amount) FROM {reservations} WHERE session_ref = %s AND session_ref <> '' "
        "AND expires_at > %s)"
    )
    insert = f"INSERT INTO {reservations} ({columns}) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"  # noqa: S608
    return totals, insert


def hold(
    scope: Scope, *, amount: Decimal, now: datetime, expires_at: datetime
) -> tuple[int, Committed]:
    """SQLite: insert a reservation and return its id with what each scope has committed
    before it (counters spent plus the *other* live reservations; only calls in flight have
    one, so the sums stay small). Run it inside the IMMEDIATE transaction, which holds the
    database; to refuse the call, roll it back. PostgreSQL does all of this in
    `reserve_in_one_statement`."""
    ops = connection.ops
    totals, insert = _hold_sql(connection.vendor)
    moment = ops.adapt_datetimefield_value(now)
    day = ops.adapt_datefield_value(scope.day)
    row = [
        scope.mode,
        day,
        scope.session_ref,
        ops.adapt_decimalfield_value(amount, MONEY_DIGITS, MONEY_PLACES),
        moment,
        ops.adapt_datetimefield_value(expires_at),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            totals,
            [scope.day_key, scope.session_key, scope.mode, day, moment, scope.session_ref, moment],
        )
        day_spent, session_spent, day_held, session_held = cursor.fetchone()
        cursor.execute(insert, row)
        (row_id,) = cursor.fetchone()
    session = _money(session_spent) + _money(session_held) if scope.session_key else None
    return int(row_id), Committed(day=_money(day_spent) + _money(day_held), session=session)


def reserve_in_one_statement(
    scope: Scope,
    *,
    amount: Decimal,
    now: datetime,
    expires_at: datetime,
    ceilings: Ceilings,
    relax: bool,
) -> tuple[int | None, Committed]:
    """PostgreSQL: lock, sum, check and insert in one round trip, through the
    `routing_reserve` function (migration 0004). Returns the reservation's id, or None when a
    ceiling would be passed (then nothing was reserved), with what each scope has committed.
    `relax`: see the module's docstring; it rides on the same statement."""
    relaxing = f", {RELAX}" if relax else ""
    sql = (
        f"SELECT held_id, day_total, session_total{relaxing} "  # noqa: S608 - no values
        "FROM routing_reserve(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    params: list[Any] = [
        scope.mode,
        scope.day,
        scope.session_ref,
        amount,
        now,
        expires_at,
        scope.day_key,
        scope.session_key,
        ceilings.daily,
        ceilings.session,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        held_id, day_total, session_total, *_ = cursor.fetchone()
    session = _money(session_total) if scope.session_key else None
    return (None if held_id is None else int(held_id)), Committed(_money(day_total), session)


def delete_reservation(reservation_id: int, *, relax: bool = False) -> None:
    """Drop a reservation; `relax` (see the module's docstring) rides on the same statement."""
    table = _q(BudgetReservation._meta.db_table)
    delete = f"DELETE FROM {table} WHERE id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        if relax and _postgresql():
            # A data-modifying WITH always runs to completion, whether or not it is read.
            cursor.execute(f"WITH gone AS ({delete}) SELECT {RELAX}", [reservation_id])
        else:
            cursor.execute(delete, [reservation_id])


def reduce_reservation(reservation_id: int, amount: Decimal, *, relax: bool = False) -> None:
    """Take `amount` off a reservation (a block: a call settled from it, or what it held
    unused given back); `relax` as for `delete_reservation`."""
    table = _q(BudgetReservation._meta.db_table)
    # Only quoted names and placeholders are interpolated; the values go as parameters.
    update = f"UPDATE {table} SET amount = amount - %s WHERE id = %s"  # noqa: S608
    value = connection.ops.adapt_decimalfield_value(amount, MONEY_DIGITS, MONEY_PLACES)
    with connection.cursor() as cursor:
        if relax and _postgresql():
            cursor.execute(f"WITH less AS ({update}) SELECT {RELAX}", [value, reservation_id])
        else:
            cursor.execute(update, [value, reservation_id])
