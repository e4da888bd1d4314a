"""Budget enforcement: a call is refused before it is sent if it could pass a ceiling.

Money spent is a `BudgetCounter` per scope (the mode's UTC day, the session), kept equal to
the ledger by `CostTracker.record`, which writes both in one transaction; money in flight is
a `BudgetReservation` of each call's estimated cost. The check and the reservation happen
with the scopes' counter rows locked (FOR UPDATE on PostgreSQL, the IMMEDIATE transaction on
SQLite), so two concurrent calls cannot both see the same money left. Settling (ledger row
and counters in, reservation out) is one transaction, so a check sees the cost exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from routing.errors import BudgetExceeded
from routing.models import Mode, ModelCall
from routing.services.budget_sql import (
    can_relax,
    counter_keys,
    delete_reservation,
    hold,
    lock_counters,
)

# Longer than any call can take; a reservation left by a process that died lapses after it.
RESERVATION_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Ceilings:
    session: Decimal | None
    daily: Decimal | None


@dataclass(frozen=True)
class Reservation:
    id: int
    mode: str
    day: date
    session_ref: str
    amount: Decimal


def reserve(
    *, mode: str, session_ref: str, amount: Decimal, ceilings: Ceilings, now: datetime | None = None
) -> Reservation:
    """Hold `amount` against the ceilings, or raise `BudgetExceeded` naming the one in the way."""
    now = now or timezone.now()
    day = now.date()
    [day_key] = counter_keys(mode=mode, day=day, session_ref="")
    relax = can_relax()  # always safe here: a reservation only matters while its call runs
    with transaction.atomic():
        spent = lock_counters(counter_keys(mode=mode, day=day, session_ref=session_ref))
        row_id, flying = hold(
            mode=mode,
            day=day,
            session_ref=session_ref,
            amount=amount,
            now=now,
            expires_at=now + RESERVATION_TTL,
            relax=relax,
        )
        committed_day = spent[day_key] + flying.day
        if ceilings.daily is not None and committed_day + amount > ceilings.daily:
            raise BudgetExceeded(  # and the reservation is rolled back
                ceiling_name=f"daily {Mode(mode).label.lower()} mode",
                ceiling=ceilings.daily,
                spent=committed_day,
                estimate=amount,
            )
        if session_ref and ceilings.session is not None:
            committed_session = spent[f"session:{session_ref}"] + flying.session
            if committed_session + amount > ceilings.session:
                raise BudgetExceeded(
                    ceiling_name=f"session {session_ref}",
                    ceiling=ceilings.session,
                    spent=committed_session,
                    estimate=amount,
                )
    return Reservation(row_id, mode, day, session_ref, amount)


def settle(reservation: Reservation, *, record: Callable[[], ModelCall]) -> ModelCall:
    """Record the call (ledger row and counters) and drop its reservation, in one transaction."""
    # A flush per call would cost more than the rest of the settlement (up to 4 ms on a busy
    # disk); ROUTING_DURABLE_LEDGER trades it back for operators who need every row durable.
    relax = can_relax() and not settings.ROUTING_DURABLE_LEDGER
    with transaction.atomic():
        call = record()
        delete_reservation(reservation.id, relax=relax)
    return call


def release(reservation: Reservation) -> None:
    delete_reservation(reservation.id)
