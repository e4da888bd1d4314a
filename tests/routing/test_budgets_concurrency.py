"""Concurrent calls cannot together overspend a ceiling: real threads, real connections.

Run on SQLite and on PostgreSQL (DATABASE_URL=postgres://…); each call holds its reservation
while the fake upstream takes its time, so the calls overlap for real.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import psycopg.conninfo
import pytest
import requests
from django.db import connection
from django.utils import timezone

from routing.errors import BudgetExceeded
from routing.models import BudgetCounter, BudgetReservation, ModelCall, Outcome
from routing.providers import OpenRouterProvider
from routing.services import complete
from tests.routing.conftest import API_KEY
from tests.routing.factories import ModelPriceFactory, PolicyFactory
from tests.routing.fake_openrouter import FakeOpenRouter, completion

THREADS = 8


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ceiling_kind", ["daily", "session"])
def test_concurrent_calls_cannot_overspend(
    fake_openrouter: FakeOpenRouter, ceiling_kind: str
) -> None:
    ModelPriceFactory(
        model_id="test/primary", prompt_price=Decimal(0), completion_price=Decimal("0.00002")
    )
    ceiling = Decimal("0.05")  # each call reserves $0.02: two fit, a third would not
    PolicyFactory(
        mode="code",
        model="test/primary",
        fallback_models=[],
        max_output_tokens=1000,
        max_price_per_1k=Decimal("0.05"),
        daily_ceiling=ceiling if ceiling_kind == "daily" else Decimal("100"),
        session_ceiling=ceiling if ceiling_kind == "session" else Decimal("100"),
    )
    fake_openrouter.default = completion("done", model="test/primary", cost="0.02", delay=0.3)
    start = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def call() -> None:
        provider = OpenRouterProvider(
            base_url=fake_openrouter.base_url, api_key=API_KEY, session=requests.Session()
        )
        try:
            start.wait()
            complete(
                mode="code",
                messages=[{"role": "user", "content": "go"}],
                session_ref="chat:1",
                provider=provider,
            )
            outcomes.append("ok")
        except BudgetExceeded:
            outcomes.append("refused")
        except Exception as exc:  # a thread's error must reach the assertion, not vanish
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok", "ok"] + ["refused"] * (THREADS - 2)
    assert len(fake_openrouter.posts) == 2
    spent = sum(
        ModelCall.objects.filter(outcome=Outcome.OK).values_list("cost", flat=True), Decimal(0)
    )
    assert spent == Decimal("0.04") <= ceiling
    assert ModelCall.objects.filter(outcome=Outcome.REFUSED).count() == THREADS - 2
    assert not BudgetReservation.objects.exists()


def _wait_for_lock_waiters(count: int) -> None:
    """Until `count` backends wait for a lock (the threads below reached their wait)."""
    deadline = time.monotonic() + 5
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.01)
    raise AssertionError(f"{count} lock waiters never showed up")


@pytest.mark.django_db(transaction=True)
def test_a_day_counter_created_meanwhile_deadlocks_nothing() -> None:
    """The first calls of a UTC day: the session's counter exists, the day's is being created
    by another transaction. A reservation and a settlement (which charges both counters, day
    first) wait for it; when it commits, both go on and neither is aborted as a deadlock."""
    if connection.vendor != "postgresql":
        pytest.skip("routing_reserve is PostgreSQL's; SQLite holds the whole database instead")
    settings = connection.settings_dict
    dsn = psycopg.conninfo.make_conninfo(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    )
    upsert = (
        "INSERT INTO routing_budgetcounter (key, spent) VALUES (%s, 1), (%s, 1) ON CONFLICT (key) "
        "DO UPDATE SET spent = routing_budgetcounter.spent + EXCLUDED.spent"
    )
    failures: list[str] = []

    def run(sql: str, params: list[object]) -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as own:
                own.execute(sql, params)
        except psycopg.Error as exc:
            failures.append(type(exc).__name__)

    for attempt in range(8):  # the interleaving that deadlocked came about in ~2 of 5 tries
        day = date(2030, 1, 1) + timedelta(days=attempt)
        day_key, session_key = f"mode:ops:{day.isoformat()}", f"session:s{attempt}"
        BudgetCounter.objects.create(key=session_key)
        creating = psycopg.connect(dsn)  # a transaction creating the day's counter
        creating.execute("INSERT INTO routing_budgetcounter (key, spent) VALUES (%s, 0)", [day_key])
        now = timezone.now()
        reserving = threading.Thread(
            target=run,
            args=(
                "SELECT * FROM routing_reserve(%s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL)",
                ["ops", day, f"s{attempt}", Decimal("0.01"), now, now, day_key, session_key],
            ),
        )
        settling = threading.Thread(target=run, args=(upsert, [day_key, session_key]))
        reserving.start()
        _wait_for_lock_waiters(1)
        settling.start()
        _wait_for_lock_waiters(2)
        creating.commit()
        creating.close()
        reserving.join()
        settling.join()

    assert failures == []
