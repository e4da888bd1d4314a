"""Money a process reserves ahead, in blocks, so that most calls reserve theirs without a
round trip.

Every call reserves its estimated cost before it is sent (budgets.py). For a call with no
session (a gateway call without `X-Juggernaut-Session`), the only scope is its mode's UTC
day, which every such call of the process shares; so instead of one reservation row per call,
the process reserves a block of `ROUTING_ALLOWANCE_CALLS` times the call's estimate in one
row, through the same locked check as any reservation, and the calls that follow take their
estimate from it in memory. That round trip was the largest part of what the gateway adds on
PostgreSQL (bench/gateway.py).

The ceilings still hold across processes: a block is a reservation like any other, so every
process counts all of it as money in flight until it is settled or given back. A call's
settlement charges its real cost to the counters and takes its estimate off the block, in one
transaction, so money is never counted twice nor missed. What is traded is conservatism:
money a process holds but does not use is unavailable to the others until it is given back,
which happens when the block is `ALLOWANCE_SECONDS` old (a timer gives it back should the
process have no call by then), when a call needs more than the block has left, or when
another block of the mode replaces it. A block is only taken when it fits under the ceiling;
near the ceiling every call reserves exactly its own estimate, so a refusal there is as
exact as without blocks.

Blocks are keyed by mode, day and the ceiling they were taken under, and belong to one
process: a forked child starts with none. A process that dies holds its unused block until
the reservation lapses (budgets.RESERVATION_TTL), as it would hold a call's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.signals import setting_changed
from django.db import connections
from django.dispatch import receiver

from routing.services.budget_sql import can_relax, delete_reservation, reduce_reservation

# A block takes calls for this long; then what it holds unused goes back.
ALLOWANCE_SECONDS = 5.0
# When the timer gives back a block no call retired: a moment after its time is up.
GIVE_BACK_AFTER_SECONDS = ALLOWANCE_SECONDS + 1.0

Key = tuple[str, date, Decimal | None]  # mode, day, the daily ceiling it was taken under
logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Block:
    key: Key
    row_id: int
    # What the block's reservation row holds: the block less what settled calls took off;
    # once retired, only what its calls in flight hold.
    held: Decimal
    in_flight: Decimal  # estimates of calls taken from it and not yet settled
    taken_at: float = field(default_factory=time.monotonic)
    open: bool = True  # False once retired: no new calls; its calls in flight still settle
    timer: threading.Timer | None = None

    @property
    def unused(self) -> Decimal:
        return self.held - self.in_flight


@dataclass(frozen=True)
class GiveBack:
    """Money going back from a block's row: take `amount` off it, or delete the row when
    nothing of it is in flight any more (`drop`)."""

    row_id: int
    amount: Decimal
    drop: bool


def give_back(returns: list[GiveBack]) -> None:
    """Write what blocks give back. A failure is logged and never fails the caller: the money
    stays held until the row lapses, which errs on the safe side."""
    for money in returns:
        try:
            if money.drop:
                delete_reservation(money.row_id, relax=can_relax())
            elif money.amount > 0:
                reduce_reservation(money.row_id, money.amount, relax=can_relax())
        except Exception:
            logger.exception("routing: giving back block %s failed; it lapses", money.row_id)


class AllowancePool:
    """This process's open blocks, one per key. Every change is made under one lock; the
    database writes it calls for are made by the caller, outside it."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Key, Block] = {}
        # Keys whose block did not fit (the ceiling is near): exact reservations until then.
        self._no_block_until: dict[Key, float] = {}
        # Keys a thread is reserving a block for: the others reserve exactly meanwhile, so the
        # process does not take one block per thread.
        self._reserving: set[Key] = set()

    def take(self, key: Key, amount: Decimal) -> tuple[Block | None, list[GiveBack]]:
        """Take `amount` from the key's open block if it is young and has that much left.
        Returns the block (None: reserve in the database) and what retired blocks give
        back, for the caller to write first: the key's own block when it cannot serve the
        call, so that the reservation the call makes next does not count this process's
        idle money against it, and the mode's blocks taken under another ceiling (or on an
        earlier day), which calls no longer ask for."""
        with self._lock:
            returns = [
                self._retire(stale)
                for stale in list(self._open.values())
                if stale.key[0] == key[0] and stale.key != key
            ]
            block = self._open.get(key)
            if block is None:
                return None, returns
            if time.monotonic() - block.taken_at >= ALLOWANCE_SECONDS or block.unused < amount:
                returns.append(self._retire(block))
                return None, returns
            block.in_flight += amount
            return block, returns

    def claim_reservation(self, key: Key) -> bool:
        """Whether this thread should reserve a new block for `key` now: not while the
        ceiling is near, nor while another thread reserves one. Pair with `installed`,
        `refused` or `gave_up`."""
        with self._lock:
            if key in self._reserving or time.monotonic() < self._no_block_until.get(key, 0.0):
                return False
            self._reserving.add(key)
            return True

    def gave_up(self, key: Key) -> None:
        """The block's reservation failed (not for the ceiling): the next call tries again."""
        with self._lock:
            self._reserving.discard(key)

    def refused(self, key: Key) -> None:
        with self._lock:
            self._reserving.discard(key)
            self._no_block_until[key] = time.monotonic() + ALLOWANCE_SECONDS

    def installed(
        self, key: Key, row_id: int, block_amount: Decimal, first: Decimal
    ) -> tuple[Block, list[GiveBack]]:
        """A block just reserved in the database, with the call that asked for it taken from
        it. Every other open block of the mode is retired: an older day's, or one taken under
        another ceiling."""
        block = Block(key=key, row_id=row_id, held=block_amount, in_flight=first)
        with self._lock:
            self._reserving.discard(key)
            retired = [self._retire(b) for b in list(self._open.values()) if b.key[0] == key[0]]
            self._open[key] = block
            block.timer = threading.Timer(GIVE_BACK_AFTER_SECONDS, self._give_back_idle, [block])
            block.timer.daemon = True
            block.timer.start()
        return block, retired

    def settled(self, block: Block, amount: Decimal) -> bool:
        """A call's settlement is about to take `amount` off the block's row. Returns whether
        it should delete the row instead: the block is retired and this was its last call."""
        with self._lock:
            block.in_flight -= amount
            block.held -= amount
            return not block.open and block.in_flight <= 0

    def unsettled(self, block: Block, amount: Decimal) -> None:
        """The settlement's write failed: the row still holds `amount`, so the call counts as
        in flight again (the row then lapses rather than being dropped)."""
        with self._lock:
            block.in_flight += amount
            block.held += amount

    def released(self, block: Block, amount: Decimal) -> GiveBack | None:
        """A call that spent nothing gives its estimate back: to the block while it is open;
        to its row, for the caller to write, once it is retired."""
        with self._lock:
            block.in_flight -= amount
            if block.open:
                return None
            block.held -= amount
            return GiveBack(block.row_id, amount, drop=block.in_flight <= 0)

    def unused(self) -> Decimal:
        """What this process's open blocks hold that no call has taken."""
        with self._lock:
            return sum((b.unused for b in self._open.values()), Decimal(0))

    def forget(self) -> None:
        """Drop every block without giving anything back: their rows are gone or will lapse
        (a test's rollback, a change of settings)."""
        with self._lock:
            for block in self._open.values():
                block.open = False
                if block.timer is not None:
                    block.timer.cancel()
            self._open.clear()
            self._no_block_until.clear()
            self._reserving.clear()

    def _retire(self, block: Block) -> GiveBack:
        """Under the lock: out of service; what it holds beyond its calls in flight goes back."""
        if self._open.get(block.key) is block:
            del self._open[block.key]
        if block.timer is not None:
            block.timer.cancel()
        block.open = False
        unused = block.unused
        block.held = block.in_flight
        return GiveBack(block.row_id, unused, drop=block.in_flight <= 0)

    def _give_back_idle(self, block: Block) -> None:
        """On the timer's thread: a block no call retired (the process went quiet)."""
        with self._lock:
            if not block.open:
                return
            money = self._retire(block)
        try:
            give_back([money])
        finally:
            connections.close_all()  # this thread's own, opened for the write


blocks = AllowancePool()
# A child made by fork() must not spend its parent's blocks, nor inherit a lock another
# thread of the parent held at that moment.
os.register_at_fork(after_in_child=blocks._reset)


@receiver(setting_changed)
def _forget_on_setting_change(*, setting: str, **kwargs: object) -> None:
    # Tests turn blocks on and off; blocks taken under one setting do not outlive it.
    if setting == "ROUTING_ALLOWANCE_CALLS":
        blocks.forget()
