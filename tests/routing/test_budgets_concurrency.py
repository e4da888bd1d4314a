"""Concurrent calls cannot together overspend a ceiling: real threads, real connections.

Run on SQLite and on PostgreSQL (DATABASE_URL=postgres://…); each call holds its reservation
while the fake upstream takes its time, so the calls overlap for real.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import requests
from django.db import connection

from routing.errors import BudgetExceeded
from routing.models import BudgetReservation, ModelCall, Outcome
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
