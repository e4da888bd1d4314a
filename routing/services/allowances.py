"""Money a process reserves ahead, so that most calls reserve theirs without a round trip.

Every call reserves its estimated cost before it is sent (budgets.py). For a call with no
session (a gateway call without `X-Juggernaut-Session`), the only scope is its mode's UTC
day, which every such call of the process shares; so instead of one reservation row per call,
the process reserves a block of `ROUTING_ALLOWANCE_CALLS` times the call's estimate in one
row, through the same locked check as any reservation, and the calls that follow take their
estimate from it in memory. That round trip was the largest part of what the gateway adds on
PostgreSQL (bench/gateway.py).

The ceilings still hold across processes: the block is a reservation like any other, so other
processes count all of it as money in flight until it is settled or given back. Each call's
settlement charges its real cost to the counters and takes its estimate off the block, in
one transaction, so money is never counted twice nor missed. The cost of the trade is
conservatism: money a process holds but does not use is unavailable to the others, for at
most `ALLOWANCE_SECONDS`, after which the unused part is given back. A block is only taken
when it fits under the ceiling; near the ceiling every call reserves exactly its own
estimate, so a refusal there is as exact, and says as much, as without allowances.

An allowance is keyed by mode, day and the ceiling it was taken under (a ceiling edited down
is not spent through an old block), and belongs to one process: a forked child starts with
none. A process that dies holds its unused block until the reservation lapses
(budgets.RESERVATION_TTL), as it would hold a call's.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.signals import setting_changed
from django.dispatch import receiver

# After this long a block takes no new calls and its unused part is given back.
ALLOWANCE_SECONDS = 5.0

Key = tuple[str, date, Decimal | None]


@dataclass(eq=False)
class Allowance:
    key: Key
    row_id: int
    # What the block's reservation row holds: the block, less what calls settled took off.
    held: Decimal
    taken_at: float = field(default_factory=time.monotonic)
    in_flight: Decimal = Decimal(0)  # estimates of calls taken from it and not yet settled
    open: bool = True  # False once retired: its in-flight calls still settle against the row

    @property
    def unused(self) -> Decimal:
        return self.held - self.in_flight


@dataclass(frozen=True)
class Retired:
    """A block taken out of service: give `unused` back to its row, or drop the row when
    nothing is left in flight (`drop`)."""

    row_id: int
    unused: Decimal
    drop: bool


class Allowances:
    """This process's open blocks, one per key. All state changes under one lock; the
    database writes they call for are made by the caller, outside it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Key, Allowance] = {}
        self._pid = os.getpid()
        # Keys whose block was refused (the ceiling is near): exact reservations until then.
        self._no_block_until: dict[Key, float] = {}

    def _mine(self) -> None:
        if os.getpid() != self._pid:  # a forked child must not spend its parent's block
            self._open.clear()
            self._no_block_until.clear()
            self._pid = os.getpid()

    def take(self, key: Key, amount: Decimal) -> tuple[Allowance | None, list[Retired]]:
        """Take `amount` from the key's open block if it has that much left. Returns the
        allowance (None: reserve in the database) and blocks retired on the way, to be
        given back."""
        now = time.monotonic()
        retired: list[Retired] = []
        with self._lock:
            self._mine()
            allowance = self._open.get(key)
            if allowance is not None and now - allowance.taken_at >= ALLOWANCE_SECONDS:
                retired.append(self._retire(allowance))
                allowance = None
            if allowance is None or allowance.unused < amount:
                return None, retired
            allowance.in_flight += amount
            return allowance, retired

    def may_block(self, key: Key) -> bool:
        with self._lock:
            self._mine()
            return time.monotonic() >= self._no_block_until.get(key, 0.0)

    def block_refused(self, key: Key) -> None:
        with self._lock:
            self._no_block_until[key] = time.monotonic() + ALLOWANCE_SECONDS

    def install(
        self, key: Key, row_id: int, block: Decimal, first: Decimal
    ) -> tuple[Allowance, list[Retired]]:
        """A block just reserved in the database, with the call that asked for it taken from
        it. It replaces the key's open block, which is retired."""
        allowance = Allowance(key=key, row_id=row_id, held=block, in_flight=first)
        with self._lock:
            self._mine()
            previous = self._open.get(key)
            retired = [self._retire(previous)] if previous is not None else []
            self._open[key] = allowance
        return allowance, retired

    def settled(self, allowance: Allowance, amount: Decimal) -> bool:
        """A call's settlement took `amount` off the row (the caller writes that). True when
        the row should go instead: retired, and this was its last call in flight."""
        with self._lock:
            allowance.in_flight -= amount
            allowance.held -= amount
            return not allowance.open and allowance.in_flight <= 0

    def released(self, allowance: Allowance, amount: Decimal) -> Retired | None:
        """A call that spent nothing gives its estimate back to the block. A retired block
        gets it back in its row instead (returned, for the caller to write)."""
        with self._lock:
            allowance.in_flight -= amount
            if allowance.open:
                return None
            allowance.held -= amount
            return Retired(allowance.row_id, amount, drop=allowance.in_flight <= 0)

    def unused(self) -> Decimal:
        """What this process's open blocks hold and no call has taken."""
        with self._lock:
            return sum((a.unused for a in self._open.values()), Decimal(0))

    def forget(self) -> None:
        """Drop every block without giving anything back: their rows are gone or will
        lapse (a test's rollback, a change of settings)."""
        with self._lock:
            for allowance in self._open.values():
                allowance.open = False
            self._open.clear()
            self._no_block_until.clear()

    def _retire(self, allowance: Allowance) -> Retired:
        """Under the lock: out of service; what it holds beyond its calls in flight goes back."""
        if self._open.get(allowance.key) is allowance:
            del self._open[allowance.key]
        allowance.open = False
        unused = allowance.unused
        allowance.held = allowance.in_flight
        return Retired(allowance.row_id, unused, drop=allowance.in_flight <= 0)


allowances = Allowances()


@receiver(setting_changed)
def _forget_on_setting_change(*, setting: str, **kwargs: object) -> None:
    # Tests turn allowances on and off; blocks taken under one setting do not outlive it.
    if setting == "ROUTING_ALLOWANCE_CALLS":
        allowances.forget()
