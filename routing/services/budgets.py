"""Budget enforcement: a call is refused before it is sent if it could pass a ceiling.

Money spent is a `BudgetCounter` per scope (the mode's UTC day, the session), kept equal to
the ledger by `CostTracker.record`, which writes both in one transaction; money in flight is
a `BudgetReservation` of each call's estimated cost. The check and the reservation happen
with the scopes' counter rows locked (FOR UPDATE on PostgreSQL, the IMMEDIATE transaction on
SQLite), so two concurrent calls cannot both see the same money left. Settling (ledger row
and counters in, reservation out) is one transaction, so a check sees the cost exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from routing.errors import BudgetExceeded
from routing.models import BudgetReservation, Mode, ModelCall
from routing.services.allowances import Allowance, Retired, allowances
from routing.services.budget_sql import (
    Ceilings,
    Committed,
    Scope,
    can_relax,
    delete_reservation,
    hold,
    reduce_reservation,
    reserve_in_one_statement,
)
from routing.services.ledger_sql import settle_call

# Longer than any call can take; a reservation left by a process that died lapses after it.
RESERVATION_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Reservation:
    id: int
    mode: str
    day: date
    session_ref: str
    amount: Decimal
    # Taken from this process's block (allowances.py) instead of a row of its own.
    allowance: Allowance | None = None


def reserve(
    *, mode: str, session_ref: str, amount: Decimal, ceilings: Ceilings, now: datetime | None = None
) -> Reservation:
    """Hold `amount` against the ceilings, or raise `BudgetExceeded` naming the one in the way."""
    now = now or timezone.now()
    scope = Scope(mode=mode, day=now.date(), session_ref=session_ref)
    calls = settings.ROUTING_ALLOWANCE_CALLS
    # Not inside a caller's transaction: its rollback would take the block's row with it
    # while this process went on spending the block.
    if calls > 1 and not session_ref and amount > 0 and not connection.in_atomic_block:
        held = _from_allowance(scope, amount, ceilings, block=amount * calls, now=now)
        if held is not None:
            return held
    row_id = _reserve_row(scope, amount, ceilings, now)
    return Reservation(row_id, mode, scope.day, session_ref, amount)


def _from_allowance(
    scope: Scope, amount: Decimal, ceilings: Ceilings, *, block: Decimal, now: datetime
) -> Reservation | None:
    """`amount` from the process's block for the scope, reserving a new block when the open
    one is spent or old; None when no block fits under the ceiling."""
    key = (scope.mode, scope.day, ceilings.daily)
    allowance, retired = allowances.take(key, amount)
    _give_back(retired)
    if allowance is None:
        if not allowances.may_block(key):
            return None
        try:
            row_id = _reserve_row(scope, block, ceilings, now)
        except BudgetExceeded:
            allowances.block_refused(key)
            return None
        allowance, retired = allowances.install(key, row_id, block, amount)
        _give_back(retired)
    return Reservation(allowance.row_id, scope.mode, scope.day, "", amount, allowance)


def _give_back(retired: list[Retired]) -> None:
    for block in retired:
        if block.drop:
            delete_reservation(block.row_id, relax=can_relax())
        elif block.unused > 0:
            reduce_reservation(block.row_id, block.unused, relax=can_relax())


def _reserve_row(scope: Scope, amount: Decimal, ceilings: Ceilings, now: datetime) -> int:
    """A reservation row of `amount` for the scope, or `BudgetExceeded`."""
    relax = can_relax()  # always safe here: a reservation only matters while its call runs
    if connection.vendor == "postgresql":
        row_id, totals = reserve_in_one_statement(
            scope,
            amount=amount,
            now=now,
            expires_at=now + RESERVATION_TTL,
            ceilings=ceilings,
            relax=relax,
        )
        refusal = _refusal(scope, totals, amount, ceilings)
        if refusal is not None:
            raise refusal
        assert row_id is not None, "the database reserved what the ceilings refuse"
        return row_id
    with transaction.atomic():
        row_id, totals = hold(scope, amount=amount, now=now, expires_at=now + RESERVATION_TTL)
        refusal = _refusal(scope, totals, amount, ceilings)
        if refusal is not None:
            raise refusal  # and the reservation is rolled back
    return row_id


def _refusal(
    scope: Scope, totals: Committed, amount: Decimal, ceilings: Ceilings
) -> BudgetExceeded | None:
    if ceilings.daily is not None and totals.day + amount > ceilings.daily:
        return BudgetExceeded(
            ceiling_name=f"daily {Mode(scope.mode).label.lower()} mode",
            ceiling=ceilings.daily,
            spent=totals.day,
            estimate=amount,
        )
    session = totals.session
    if session is not None and ceilings.session is not None and session + amount > ceilings.session:
        return BudgetExceeded(
            ceiling_name=f"session {scope.session_ref}",
            ceiling=ceilings.session,
            spent=session,
            estimate=amount,
        )
    return None


def settle(reservation: Reservation, call: ModelCall) -> ModelCall:
    """Record the call (ledger row and counters in) and drop its reservation, atomically."""
    # A flush per call would cost more than the rest of the settlement (up to 4 ms on a busy
    # disk); ROUTING_DURABLE_LEDGER trades it back for operators who need every row durable.
    relax = can_relax() and not settings.ROUTING_DURABLE_LEDGER
    allowance = reservation.allowance
    if allowance is None or allowances.settled(allowance, reservation.amount):
        return settle_call(call, reservation_id=reservation.id, relax=relax)
    # The call's estimate comes off its block; the rest of the block stays held.
    return settle_call(
        call, reservation_id=reservation.id, relax=relax, take_off=reservation.amount
    )


class HeldSettlements:
    """Settlements a caller holds back until its answer is out, then settles with
    `settle_all()`: the gateway settles after its response is sent, so the client does not
    wait for the ledger write. Until then the call's reservation keeps counting its
    estimate against the ceilings, so money held back is never spent twice; a process that
    dies before settling leaves the reservation to lapse, as it would mid-call."""

    def __init__(self) -> None:
        self._held: list[tuple[Reservation, ModelCall]] = []

    def hold(self, reservation: Reservation, call: ModelCall) -> None:
        self._held.append((reservation, call))

    def settle_all(self) -> list[ModelCall]:
        settled = []
        while self._held:
            reservation, call = self._held.pop(0)
            settled.append(settle(reservation, call))
        return settled


def release(reservation: Reservation) -> None:
    """Free what an unsettled call held: its row, or its share of a block."""
    if reservation.allowance is None:
        delete_reservation(reservation.id)
        return
    back = allowances.released(reservation.allowance, reservation.amount)
    if back is not None:
        _give_back([back])


def purge_lapsed_reservations(*, now: datetime | None = None) -> int:
    """Delete reservations past their expiry, left by processes that died mid-call (or
    holding a block): they no longer count, but would otherwise stay for ever."""
    now = now or timezone.now()
    deleted, _ = BudgetReservation.objects.filter(expires_at__lte=now).delete()
    return deleted
