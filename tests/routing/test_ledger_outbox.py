"""A settlement that fails after the answer is out is not lost (issue 14: with connections
killed under load, 5 of 423 billed gateway calls never reached the ledger). It is tried again
on a fresh connection; if the database still refuses, it waits in the outbox and lands later,
once, and counts against the budget."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from engine.services import create_api_token
from routing.gateway.asgi import GatewayFastPath
from routing.jobs import drain_ledger_outbox_job
from routing.models import BudgetReservation, ModelCall
from routing.schedules import SCHEDULES
from routing.services import CostTracker, complete
from routing.services import outbox as outbox_module
from routing.services.budgets import HeldSettlements
from routing.services.ledger_sql import settle_call
from tests.factories import UserFactory
from tests.routing.factories import held_for_calls_in_flight
from tests.routing.fake_openrouter import FakeOpenRouter, completion

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("routing_defaults", "openrouter_settings"),
]

ASK = [{"role": "user", "content": "status?"}]
SESSION = "chat:5"
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="kills a PostgreSQL backend"
)


@pytest.fixture
def outbox(settings: Any) -> Any:
    """The folder tests/conftest.py gives each test."""
    return settings.ROUTING_LEDGER_OUTBOX


def held_call(fake: FakeOpenRouter, cost: str = "0.0042") -> HeldSettlements:
    """A call answered, its settlement held back as the gateway holds it until its answer
    is out."""
    fake.script(completion("ok", model="openai/gpt-4o-mini", cost=cost))
    held = HeldSettlements()
    complete(mode="ops", messages=ASK, session_ref=SESSION, held=held)
    return held


def backend_pid() -> int:
    """This thread's PostgreSQL backend."""
    connection.ensure_connection()
    return int(connection.connection.info.backend_pid)


def killed(*, only: int | None = None, sparing: int | None = None) -> int:
    """pg_terminate_backend, from a connection of its own, for the backend `only`, or for
    every other backend of the test database but `sparing`."""
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    ) as killer:
        rows = killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND (%s::int IS NULL OR pid = %s) AND (%s::int IS NULL OR pid <> %s)",
            [only, only, sparing, sparing],
        ).fetchall()
    return len(rows)


@postgres_only
def test_a_settlement_whose_connection_was_killed_lands_and_counts(
    openrouter_settings: FakeOpenRouter, caplog: pytest.LogCaptureFixture
) -> None:
    held = held_call(openrouter_settings)
    assert killed(only=backend_pid()) == 1  # the connection the settlement is about to use

    (call,) = held.settle_all()

    assert "trying a new connection" in caplog.text  # the first try met the dead one
    assert ModelCall.objects.get(pk=call.pk).cost == Decimal("0.0042")
    assert CostTracker().spend(session_ref=SESSION) == Decimal("0.0042")
    assert not BudgetReservation.objects.exists()
    assert outbox_module.pending() == []


@postgres_only
def test_through_the_gateway_a_connection_killed_as_the_answer_goes_out_loses_no_row(
    openrouter_settings: FakeOpenRouter,
) -> None:
    """Every connection the process holds dies as the answer goes out: the one the worker
    thread holds (the settlement's retry replaces it) and the pool's idle ones (the pool's
    check replaces those)."""
    openrouter_settings.script(completion("ok", model="openai/gpt-4o-mini", cost="0.0042"))
    token = create_api_token(user=UserFactory(), name="agent")[1]
    body = json.dumps({"model": "mode:ops", "messages": ASK}).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    mine = backend_pid()  # the test's own, which reads the results
    kills: list[int] = []

    async def drive(app: GatewayFastPath) -> None:
        asked = False

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(30)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                # The answer is out; its settlement comes next, on the worker's connection.
                kills.append(await asyncio.to_thread(killed, sparing=mine))

        await asyncio.wait_for(app(scope, receive, send), timeout=20)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the gateway serves /v1/ itself")

    app = GatewayFastPath(inner)
    try:
        asyncio.run(drive(app))
    finally:
        app.close()

    assert kills and kills[0] >= 1
    row = ModelCall.objects.get()
    assert row.cost == Decimal("0.0042") and row.source == "gateway"
    assert CostTracker().spend(mode="ops") == Decimal("0.0042")
    assert held_for_calls_in_flight() == 0


def refusing_database() -> Any:
    """The database refuses every write for a while: PostgreSQL at a port nothing listens on,
    SQLite locked by another connection. Returns what ends it."""
    settings_dict = connection.settings_dict
    connection.close()
    if connection.vendor == "postgresql":
        port, pool = settings_dict["PORT"], settings_dict["OPTIONS"].get("pool")
        settings_dict["PORT"] = "9"  # discard: nothing listens
        if pool:  # a new pool, at the wrong port, that gives up waiting after a second
            settings_dict["OPTIONS"]["pool"] = {**pool, "min_size": 0, "timeout": 1}
            connection.close_pool()

        def reopen() -> None:
            settings_dict["PORT"] = port
            if pool:
                settings_dict["OPTIONS"]["pool"] = pool
                connection.close_pool()

        return reopen
    settings_dict["OPTIONS"]["timeout"] = 0.05
    locker = sqlite3.connect(settings_dict["NAME"], timeout=1)
    locker.execute("BEGIN EXCLUSIVE")

    def unlock() -> None:
        locker.rollback()
        locker.close()
        settings_dict["OPTIONS"]["timeout"] = 20

    return unlock


def test_a_settlement_the_database_refuses_waits_in_the_outbox_and_lands_once(
    openrouter_settings: FakeOpenRouter, outbox: Any
) -> None:
    held = held_call(openrouter_settings)
    reopen = refusing_database()
    try:
        (call,) = held.settle_all()  # no error: the answer is out, the row must wait
        waiting = outbox_module.pending()
    finally:
        reopen()
        connection.close()

    assert len(waiting) == 1 and waiting[0].parent == outbox
    assert not ModelCall.objects.exists()
    assert BudgetReservation.objects.exists()  # still counting the call's worst case

    assert drain_ledger_outbox_job() == "1 settlements landed, 0 waiting"
    assert drain_ledger_outbox_job() == "0 settlements landed, 0 waiting"
    row = ModelCall.objects.get()
    assert row.settlement_key == call.settlement_key and row.cost == Decimal("0.0042")
    assert CostTracker().spend(session_ref=SESSION) == Decimal("0.0042")
    assert not BudgetReservation.objects.exists()


def test_a_settlement_retried_after_it_committed_lands_once(
    openrouter_settings: FakeOpenRouter,
) -> None:
    held = held_call(openrouter_settings)
    ((reservation, call),) = held._held
    (settled,) = held.settle_all()
    again = outbox_module.load(outbox_module.dump(outbox_module.Kept(call, reservation.id, None)))

    settle_call(again.call, reservation_id=again.reservation_id, relax=False)

    assert ModelCall.objects.count() == 1 and again.call.pk == settled.pk
    assert CostTracker().spend(session_ref=SESSION) == Decimal("0.0042")
    from routing.models import BudgetCounter

    assert BudgetCounter.objects.get(key=f"session:{SESSION}").spent == Decimal("0.0042")


def test_the_outbox_is_drained_every_minute() -> None:
    assert {
        "name": "routing.drain_ledger_outbox",
        "func": "routing.jobs.drain_ledger_outbox_job",
        "minutes": 1,
    } in SCHEDULES
