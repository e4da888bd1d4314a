"""Settlements the database would not take, kept on disk until it does.

A call's settlement (its ledger row, the cost on its counters, its reservation out) can fail
after the answer is out: a connection killed under load, the database restarting. The call
was billed, so its row must not be lost (issue 14: 5 of 423 calls never reached the ledger).
`budgets.settle` tries again at once on a fresh connection; if that fails too the settlement
comes here: one JSON file per call under `ROUTING_LEDGER_OUTBOX` (the var directory), written
whole or not at all (a temporary file, then a rename). The process drains it a few seconds
later, and again with growing waits while the database stays away; the schedule
`routing.drain_ledger_outbox` drains it every minute on a host that shares the directory
(a process that died with files in it leaves them for the schedule).

Every settlement carries its own key (`ModelCall.settlement_key`), so one that did commit
before its connection died, or that two drainers take at once, lands once. Until it lands,
its reservation keeps counting its worst case against the ceilings, as a call in flight does.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from routing.models import ModelCall
from routing.services.budget_sql import can_relax
from routing.services.ledger_sql import settle_call

# Failures that say the database could not be reached or the connection broke: worth a retry.
UNREACHABLE = (OperationalError, InterfaceError)
FIRST_DRAIN_SECONDS = 5.0
MAX_DRAIN_SECONDS = 300.0
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kept:
    """A settlement as it waits: the row, and what it takes off which reservation."""

    call: ModelCall
    reservation_id: int
    take_off: Decimal | None  # None: the reservation is the call's own, deleted


def directory() -> Path:
    return Path(settings.ROUTING_LEDGER_OUTBOX)


def _fields() -> list[Any]:
    return [f for f in ModelCall._meta.concrete_fields if not f.primary_key]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def dump(kept: Kept) -> str:
    row = {f.attname: _encode(getattr(kept.call, f.attname)) for f in _fields()}
    take_off = None if kept.take_off is None else str(kept.take_off)
    return json.dumps({"call": row, "reservation_id": kept.reservation_id, "take_off": take_off})


def load(text: str) -> Kept:
    data = json.loads(text)
    values: dict[str, Any] = {}
    for field in _fields():
        raw = data["call"].get(field.attname)
        values[field.attname] = None if raw is None else field.to_python(raw)
    take_off = data["take_off"]
    return Kept(
        call=ModelCall(**values),
        reservation_id=int(data["reservation_id"]),
        take_off=None if take_off is None else Decimal(take_off),
    )


def keep(kept: Kept) -> Path:
    """Write the settlement to the outbox, whole or not at all, and drain it soon."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kept.call.settlement_key}.json"
    partial = path.with_suffix(".tmp")
    with partial.open("w") as handle:
        handle.write(dump(kept))
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    drainer.soon()
    return path


def pending() -> list[Path]:
    folder = directory()
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def drain() -> int:
    """Settle what the outbox holds, oldest first; stops at the first the database will not
    take (it is still away). Returns how many landed."""
    landed = 0
    for path in pending():
        try:
            kept = load(path.read_text())
        except (OSError, ValueError, KeyError):
            logger.exception("routing: ledger outbox file %s is unreadable; left in place", path)
            continue
        try:
            settle_call(
                kept.call,
                reservation_id=kept.reservation_id,
                relax=can_relax() and not settings.ROUTING_DURABLE_LEDGER,
                take_off=kept.take_off,
            )
        except UNREACHABLE:
            connections["default"].close()  # a broken connection is not reused
            return landed
        except DatabaseError:
            logger.exception("routing: ledger outbox file %s was refused; left in place", path)
            continue
        path.unlink(missing_ok=True)
        landed += 1
    return landed


class Drainer:
    """One timer per process that drains the outbox while it holds anything, waiting longer
    each time the database is still away."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._wait = FIRST_DRAIN_SECONDS

    def soon(self) -> None:
        with self._lock:
            if self._timer is None:
                self._start(FIRST_DRAIN_SECONDS)

    def _start(self, seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._run)
        self._timer.daemon = True
        self._timer.start()

    def _run(self) -> None:
        try:
            drain()
        except Exception:
            logger.exception("routing: draining the ledger outbox failed")
        finally:
            connections.close_all()  # this timer thread's own
        with self._lock:
            self._timer = None
            if pending():
                self._wait = min(self._wait * 2, MAX_DRAIN_SECONDS)
                self._start(self._wait)
            else:
                self._wait = FIRST_DRAIN_SECONDS

    def forget(self) -> None:
        """In a forked child: its parent's timer does not exist here."""
        self._lock = threading.Lock()
        self._timer = None
        self._wait = FIRST_DRAIN_SECONDS

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


drainer = Drainer()
os.register_at_fork(after_in_child=drainer.forget)
