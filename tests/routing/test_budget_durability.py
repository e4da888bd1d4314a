"""Settling a call: which transactions skip the WAL flush, and that the money lands anyway."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from routing.errors import BudgetExceeded
from routing.models import BudgetCounter, BudgetReservation, ModelCall, Outcome
from routing.services import Ceilings, CostTracker, reserve, settle

NO_CEILINGS = Ceilings(session=None, daily=None)


def _reserve_and_settle() -> list[str]:
    """Reserve $0.01 for session s1, settle it at $0.002; the statements of both steps."""
    with CaptureQueriesContext(connection) as queries:
        reservation = reserve(
            mode="ops", session_ref="s1", amount=Decimal("0.01"), ceilings=NO_CEILINGS
        )
        settle(
            reservation,
            CostTracker().prepare(
                mode="ops", session_ref="s1", cost=Decimal("0.002"), outcome=Outcome.OK
            ),
        )
    return [query["sql"] for query in queries.captured_queries]


def _money_landed() -> None:
    day_key = f"mode:ops:{timezone.now().date().isoformat()}"
    counters = dict(BudgetCounter.objects.values_list("key", "spent"))
    assert counters == {day_key: Decimal("0.002"), "session:s1": Decimal("0.002")}
    assert ModelCall.objects.get().cost == Decimal("0.002")
    assert not BudgetReservation.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("durable", [False, True])
def test_only_a_durable_ledger_waits_for_the_flush(settings, durable: bool) -> None:
    settings.ROUTING_DURABLE_LEDGER = durable
    statements = _reserve_and_settle()
    relaxed = [sql for sql in statements if "synchronous_commit" in sql]
    on_postgresql = connection.vendor == "postgresql"
    # The reservation always skips it; the settlement unless the ledger must be durable.
    assert len(relaxed) == (0 if not on_postgresql else 1 if durable else 2)
    _money_landed()


@pytest.mark.django_db(transaction=True)
def test_a_callers_transaction_is_never_relaxed() -> None:
    with transaction.atomic():
        statements = _reserve_and_settle()
    assert not [sql for sql in statements if "synchronous_commit" in sql]
    _money_landed()


@pytest.mark.django_db(transaction=True)
def test_a_refused_reservation_leaves_nothing_behind() -> None:
    ceilings = Ceilings(session=Decimal("0.005"), daily=None)
    with pytest.raises(BudgetExceeded, match="session s1"):
        reserve(mode="ops", session_ref="s1", amount=Decimal("0.01"), ceilings=ceilings)
    assert not BudgetReservation.objects.exists()
