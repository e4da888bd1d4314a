"""Budget enforcement: a call is refused before it is sent if it could pass a ceiling.

Money spent is a `BudgetCounter` per scope (the mode's UTC day, the session), kept equal to
the ledger by `CostTracker.record`, which writes both in one transaction; money in flight is
a `BudgetReservation` of each call's estimated cost. The check and the reservation happen
with the scopes' counter rows locked (FOR UPDATE on PostgreSQL, the IMMEDIATE transaction on
SQLite), so two concurrent calls cannot both see the same money left. Settling (ledger row
and counters in, reservation out) is one transaction, so a check sees the cost exactly once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from routing.errors import BudgetExceeded
from routing.models import BudgetReservation, Mode, ModelCall
from routing.services import outbox
from routing.services.allowances import Block, blocks, give_back
from routing.services.budget_sql import (
    MONEY,
    Ceilings,
    Committed,
    Scope,
    can_relax,
    delete_reservation,
    hold,
    reserve_in_one_statement,
)
from routing.services.ledger_sql import settle_call

# Longer than any call can take; a reservation left by a process that died lapses after it.
RESERVATION_TTL = timedelta(hours=1)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reservation:
    id: int
    mode: str
    day: date
    session_ref: str
    amount: Decimal
    # Taken from this process's block (allowances.py) instead of a row of its own.
    block: Block | None = None


def reserve(
    *, mode: str, session_ref: str, amount: Decimal, ceilings: Ceilings, now: datetime | None = None
) -> Reservation:
    """Hold `amount` against the ceilings, or raise `BudgetExceeded` naming the one in the way."""
    now = now or timezone.now()
    scope = Scope(mode=mode, day=now.date(), session_ref=session_ref)
    calls = settings.ROUTING_ALLOWANCE_CALLS
    # Only in autocommit: a caller's transaction that rolled back would take the block's
    # row with it while this process went on spending the block.
    if calls > 1 and not session_ref and amount > 0 and connection.get_autocommit():
        held = _from_block(scope, amount.quantize(MONEY, ROUND_CEILING), ceilings, calls, now)
        if held is not None:
            return held
    row_id = _reserve_row(scope, amount, ceilings, now)
    return Reservation(row_id, mode, scope.day, session_ref, amount)


def _from_block(
    scope: Scope, amount: Decimal, ceilings: Ceilings, calls: int, now: datetime
) -> Reservation | None:
    """`amount` from the process's block for the scope, reserving a new block of `calls`
    times it when the open one is spent or old; None when no block fits under the ceiling
    (or another thread is reserving one): the call reserves its own row."""
    key = (scope.mode, scope.day, ceilings.daily)
    block, returns = blocks.take(key, amount)
    give_back(returns)  # before reserving: this process's idle money must not count against it
    if block is None:
        if not blocks.claim_reservation(key):
            return None
        try:
            row_id = _reserve_row(scope, amount * calls, ceilings, now)
        except BudgetExceeded:
            blocks.refused(key)
            return None
        except BaseException:
            blocks.gave_up(key)
            raise
        block, returns = blocks.installed(key, row_id, amount * calls, amount)
        give_back(returns)
    return Reservation(block.row_id, scope.mode, scope.day, "", amount, block)


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
    """Record the call (ledger row and counters in) and drop its reservation, atomically.

    The call was billed, so its row must land even when the database fails now: a write
    that fails for the connection is tried once more on a fresh one, then kept in the
    outbox (outbox.py), which lands it later. Inside a caller's transaction nothing can be
    retried: the failure is the caller's."""
    if call.settlement_key is None:
        call.settlement_key = uuid.uuid4()  # so that a retry, or the outbox, lands it once
    try:
        return _settle_once(reservation, call)
    except outbox.UNREACHABLE:
        if not _may_reconnect():
            raise
        logger.warning("routing: settling call %s failed; trying a new connection", call)
        connection.close()
    try:
        return _settle_once(reservation, call)
    except outbox.UNREACHABLE:
        connection.close()
        take_off = reservation.amount if reservation.block is not None else None
        path = outbox.keep(outbox.Kept(call, reservation.id, take_off))
        logger.warning("routing: the database refused a settlement; kept in %s", path)
        return call


def _may_reconnect() -> bool:
    """Whether the connection is ours to drop: not inside a caller's transaction. Read from
    Django's own flags: asking the connection would open it."""
    if connection.in_atomic_block:
        return False
    return connection.connection is None or connection.autocommit


def _settle_once(reservation: Reservation, call: ModelCall) -> ModelCall:
    # A flush per call would cost more than the rest of the settlement (up to 4 ms on a busy
    # disk); ROUTING_DURABLE_LEDGER trades it back for operators who need every row durable.
    relax = can_relax() and not settings.ROUTING_DURABLE_LEDGER
    block = reservation.block
    if block is None:
        return settle_call(call, reservation_id=reservation.id, relax=relax)
    last = blocks.settled(block, reservation.amount)
    try:
        # The call's estimate comes off its block, whose rest stays held; the row goes with
        # the last call of a retired block.
        take_off = None if last else reservation.amount
        return settle_call(call, reservation_id=reservation.id, relax=relax, take_off=take_off)
    except BaseException:
        blocks.unsettled(block, reservation.amount)  # the row still holds it: let it lapse
        raise


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
    if reservation.block is None:
        delete_reservation(reservation.id)
        return
    money = blocks.released(reservation.block, reservation.amount)
    if money is not None:
        give_back([money])


def purge_lapsed_reservations(*, now: datetime | None = None) -> int:
    """Delete reservations past their expiry, left by processes that died mid-call (or
    holding a block): they no longer count, but would otherwise stay for ever."""
    now = now or timezone.now()
    deleted, _ = BudgetReservation.objects.filter(expires_at__lte=now).delete()
    return deleted
