"""Writing a ledger row, and settling a call, in as few statements as the database allows.

A model call ends with one settlement: its `ModelCall` row in, its cost added to the budget
counters of its mode's day and its session, its reservation out, all atomic. Through the
ORM that was six statements (on PostgreSQL six round trips) and more time compiling them
than running them (measured with bench/gateway.py). Here the INSERT is built once per
process from the model's fields, and on PostgreSQL the whole settlement is one statement:
data-modifying WITH clauses all run, in one implicit transaction, whether or not the final
SELECT reads them. The counters are charged with an upsert (a missing one is created), in
sorted key order, the order reservations lock them in, so the two never deadlock.
SQLite gets the same writes as plain statements inside one transaction.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection, transaction

from routing.models import BudgetCounter, BudgetReservation, ModelCall
from routing.money import MONEY_DIGITS, MONEY_PLACES
from routing.services.budget_sql import (
    RELAX,
    charge_counters,
    counter_keys,
    delete_reservation,
    reduce_reservation,
)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _call_fields() -> list[Any]:
    return [f for f in ModelCall._meta.concrete_fields if not f.primary_key]


@cache
def _insert_call_sql(vendor: str) -> str:
    """The ledger row's INSERT. A row whose settlement key is already in the ledger (a
    settlement retried after its first try committed, unseen) inserts nothing and returns
    no id. Only quoted names and placeholders are interpolated; `vendor` keys the cache
    because quoting differs between backends."""
    del vendor
    fields = _call_fields()
    columns = ", ".join(_q(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = _q(ModelCall._meta.db_table)
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({_q('settlement_key')}) DO NOTHING RETURNING {_q('id')}"
    )


def _call_values(call: ModelCall) -> list[Any]:
    return [f.get_db_prep_save(f.pre_save(call, True), connection) for f in _call_fields()]


def _saved(call: ModelCall, row_id: Any) -> ModelCall:
    call.pk = int(row_id)
    call._state.adding = False
    call._state.db = connection.alias
    return call


def insert_call(call: ModelCall) -> bool:
    """Insert an unsaved ledger row (no counters), as `call.save()` would. False when its
    settlement key was in the ledger already: `call` then takes that row's id."""
    with connection.cursor() as cursor:
        cursor.execute(_insert_call_sql(connection.vendor), _call_values(call))
        row = cursor.fetchone()
    if row is None:
        _saved(call, _settled_id(call))
        return False
    _saved(call, row[0])
    return True


def _settled_id(call: ModelCall) -> int:
    return ModelCall.objects.values_list("id", flat=True).get(settlement_key=call.settlement_key)


def record_call(call: ModelCall) -> ModelCall:
    """Insert a ledger row; one that cost money is added to its mode's day and its session
    counters in the same transaction, so the counters always equal the ledger."""
    if call.cost <= 0:
        insert_call(call)
        return call
    keys = counter_keys(mode=call.mode, day=call.created_at.date(), session_ref=call.session_ref)
    with transaction.atomic(savepoint=False):
        if insert_call(call):
            charge_counters(keys, call.cost)
    return call


def settle_call(
    call: ModelCall, *, reservation_id: int, relax: bool, take_off: Decimal | None = None
) -> ModelCall:
    """Record `call` and drop its reservation, atomically; with `take_off`, take that much
    off the reservation instead (a block other calls still hold). `relax`: see budget_sql.
    A call whose settlement key is in the ledger already changes nothing: settling it again
    (a retry, the outbox) is safe."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            if not insert_call(call):
                return call
            if call.cost > 0:
                keys = counter_keys(
                    mode=call.mode, day=call.created_at.date(), session_ref=call.session_ref
                )
                charge_counters(keys, call.cost)
            if take_off is None:
                delete_reservation(reservation_id)
            else:
                reduce_reservation(reservation_id, take_off)
        return call
    keys = counter_keys(mode=call.mode, day=call.created_at.date(), session_ref=call.session_ref)
    sql, params = _settlement(call, keys, reservation_id, relax=relax, take_off=take_off)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return _saved(call, _settled_id(call) if row is None else row[0])


def _settlement(
    call: ModelCall,
    keys: list[str],
    reservation_id: int,
    *,
    relax: bool,
    take_off: Decimal | None,
) -> tuple[str, list[Any]]:
    counters, key, spent = _q(BudgetCounter._meta.db_table), _q("key"), _q("spent")
    reservations = _q(BudgetReservation._meta.db_table)
    parts = [f"new_call AS ({_insert_call_sql(connection.vendor)})"]
    params = _call_values(call)
    # Counters and reservation move only with a row that went in (not one settled before).
    landed = "EXISTS (SELECT 1 FROM new_call)"
    if call.cost > 0:
        amount = connection.ops.adapt_decimalfield_value(
            Decimal(call.cost), MONEY_DIGITS, MONEY_PLACES
        )
        rows = ", ".join(["(%s, %s::numeric)"] * len(keys))
        # Only quoted names and placeholders are interpolated; the values go as parameters.
        parts.append(
            f"charged AS (INSERT INTO {counters} ({key}, {spent}) "  # noqa: S608
            f"SELECT k, a FROM (VALUES {rows}) AS v (k, a) WHERE {landed} "
            f"ON CONFLICT ({key}) DO UPDATE SET {spent} = {counters}.{spent} + EXCLUDED.{spent})"
        )
        for name in keys:  # sorted by counter_keys
            params += [name, amount]
    if take_off is None:
        parts.append(
            f"gone AS (DELETE FROM {reservations} WHERE {_q('id')} = %s AND {landed})"  # noqa: S608
        )
    else:
        parts.append(
            f"gone AS (UPDATE {reservations} SET amount = amount - %s "  # noqa: S608
            f"WHERE {_q('id')} = %s AND {landed})"
        )
        params.append(connection.ops.adapt_decimalfield_value(take_off, MONEY_DIGITS, MONEY_PLACES))
    params.append(reservation_id)
    relaxing = f", {RELAX}" if relax else ""
    return f"WITH {', '.join(parts)} SELECT id{relaxing} FROM new_call", params  # noqa: S608
