"""Blocks of reserved money: calls without a session reserve from their process's block, the
ceilings hold across processes, and what a block does not use goes back."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from routing.errors import BudgetExceeded
from routing.models import BudgetCounter, BudgetReservation, ModelCall, Outcome
from routing.providers import OpenRouterProvider
from routing.services import Ceilings, budgets, complete, reserve
from routing.services.allowances import Allowances
from tests.routing.factories import ModelPriceFactory, PolicyFactory, spend
from tests.routing.fake_openrouter import FakeOpenRouter, completion

# Not inside the test's transaction: a call reserves from a block only outside any
# transaction of its caller (a rollback would take the block's row away).
pytestmark = pytest.mark.django_db(transaction=True)

ASK = [{"role": "user", "content": "hi"}]
ESTIMATE = Decimal("0.01")  # every call below: 1,000 completion tokens at $0.00001


@pytest.fixture(autouse=True)
def blocks_of_twenty(settings: Any) -> None:
    settings.ROUTING_ALLOWANCE_CALLS = 20


def priced(daily_ceiling: str) -> None:
    ModelPriceFactory(
        model_id="test/primary", prompt_price=Decimal(0), completion_price=Decimal("0.00001")
    )
    PolicyFactory(
        mode="normal",
        model="test/primary",
        fallback_models=[],
        max_output_tokens=1000,
        daily_ceiling=Decimal(daily_ceiling),
        session_ceiling=Decimal("100"),
    )


def held() -> list[Decimal]:
    return sorted(BudgetReservation.objects.values_list("amount", flat=True))


def day_spent(mode: str = "normal") -> Decimal:
    counter = BudgetCounter.objects.filter(key__startswith=f"mode:{mode}:").first()
    return counter.spent if counter else Decimal(0)


def test_calls_without_a_session_reserve_from_one_block(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    priced("1.00")
    fake_openrouter.default = completion("ok", model="test/primary", cost="0.004")

    complete(mode="normal", messages=ASK, provider=openrouter)
    with CaptureQueriesContext(connection) as second:
        complete(mode="normal", messages=ASK, provider=openrouter)
    complete(mode="normal", messages=ASK, provider=openrouter)

    reserving = [
        q["sql"]
        for q in second
        if 'INSERT INTO "routing_budgetreservation"' in q["sql"] or "routing_reserve(" in q["sql"]
    ]
    assert reserving == [], "the second call took its share of the block, no row of its own"
    # One block of 20 estimates, three of them settled: their real cost is on the counter,
    # their estimates off the block.
    assert held() == [20 * ESTIMATE - 3 * ESTIMATE]
    assert day_spent() == Decimal("0.012")
    assert ModelCall.objects.filter(outcome=Outcome.OK).count() == 3


def test_calls_with_a_session_reserve_rows_of_their_own(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    priced("1.00")
    fake_openrouter.default = completion("ok", model="test/primary", cost="0.004")

    reservation = reserve(
        mode="normal", session_ref="chat:1", amount=ESTIMATE, ceilings=Ceilings(None, None)
    )

    assert reservation.allowance is None
    assert held() == [ESTIMATE]


def test_a_block_past_its_time_gives_back_what_it_did_not_use(
    openrouter: OpenRouterProvider,
    fake_openrouter: FakeOpenRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    priced("1.00")
    fake_openrouter.default = completion("ok", model="test/primary", cost="0.004")
    complete(mode="normal", messages=ASK, provider=openrouter)
    first = BudgetReservation.objects.get()
    assert first.amount == 19 * ESTIMATE

    monkeypatch.setattr("routing.services.allowances.ALLOWANCE_SECONDS", 0)
    complete(mode="normal", messages=ASK, provider=openrouter)

    # Nothing of the first block was in flight: its row is gone; the second block is new.
    assert not BudgetReservation.objects.filter(pk=first.pk).exists()
    assert held() == [19 * ESTIMATE]
    assert day_spent() == Decimal("0.008")


def test_a_retired_block_keeps_what_its_calls_in_flight_hold_until_they_settle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ceilings = Ceilings(session=None, daily=Decimal("1.00"))
    in_flight = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
    assert in_flight.allowance is not None
    monkeypatch.setattr("routing.services.allowances.ALLOWANCE_SECONDS", 0)

    reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)

    old = BudgetReservation.objects.get(pk=in_flight.id)
    assert old.amount == ESTIMATE, "the unused 19 went back; the call in flight still holds"
    budgets.release(in_flight)
    assert not BudgetReservation.objects.filter(pk=in_flight.id).exists()


def test_a_call_given_up_returns_its_share_to_the_open_block() -> None:
    ceilings = Ceilings(session=None, daily=Decimal("1.00"))
    first = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
    assert first.allowance is not None

    with CaptureQueriesContext(connection) as released:
        budgets.release(first)

    assert len(released) == 0
    assert first.allowance.unused == 20 * ESTIMATE
    assert held() == [20 * ESTIMATE]


def test_near_the_ceiling_every_call_reserves_exactly_its_own_estimate(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    priced("0.025")  # two calls fit; a block of twenty does not
    fake_openrouter.default = completion("ok", model="test/primary", cost="0.01")

    complete(mode="normal", messages=ASK, provider=openrouter)
    complete(mode="normal", messages=ASK, provider=openrouter)
    with pytest.raises(BudgetExceeded) as caught:
        complete(mode="normal", messages=ASK, provider=openrouter)

    assert "daily normal mode ceiling of $0.025 has $0.005 left" in str(caught.value)
    assert len(fake_openrouter.posts) == 2
    assert held() == []


def test_two_processes_cannot_together_overspend_a_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Process A holds a block of 20 estimates; B's block no longer fits under 30, so B
    reserves its calls one by one, and the eleventh is refused: together they never hold
    more than the ceiling."""
    ceilings = Ceilings(session=None, daily=Decimal("0.30"))
    first, second = Allowances(), Allowances()

    def reserve_in(process: Allowances) -> bool:
        monkeypatch.setattr(budgets, "allowances", process)
        try:
            reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
        except BudgetExceeded:
            return False
        return True

    assert reserve_in(first) is True
    taken_by_second = sum(reserve_in(second) for _ in range(15))
    taken_by_first = 1 + sum(reserve_in(first) for _ in range(25))

    assert (taken_by_first, taken_by_second) == (20, 10)
    assert sum(held()) == Decimal("0.30")


def test_threads_of_one_process_share_its_block_without_overspending() -> None:
    """Real threads with their own connections: a block of 20 and ten exact reservations
    fit under the ceiling; of 48 calls exactly 30 get money."""
    ceilings = Ceilings(session=None, daily=Decimal("0.30"))
    start = threading.Barrier(8)
    outcomes: list[bool] = []

    def calls() -> None:
        try:
            start.wait()
            for _ in range(6):
                try:
                    reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
                    outcomes.append(True)
                except BudgetExceeded:
                    outcomes.append(False)
        finally:
            connection.close()

    threads = [threading.Thread(target=calls) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (outcomes.count(True), outcomes.count(False)) == (30, 18)
    assert sum(held()) == Decimal("0.30")


def test_inside_a_callers_transaction_a_call_reserves_its_own_row() -> None:
    """The caller's rollback would take a block's row with it while the process spent on."""
    ceilings = Ceilings(session=None, daily=Decimal("1.00"))
    with transaction.atomic():
        reservation = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)

    assert reservation.allowance is None
    assert held() == [ESTIMATE]


def test_a_forked_child_does_not_spend_its_parents_block(monkeypatch: pytest.MonkeyPatch) -> None:
    ceilings = Ceilings(session=None, daily=Decimal("1.00"))
    reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
    monkeypatch.setattr("routing.services.allowances.os.getpid", lambda: 999_999)

    reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)

    assert held() == [20 * ESTIMATE, 20 * ESTIMATE], "the child took a block of its own"


def test_a_block_is_taken_under_one_ceiling_and_never_spent_under_another() -> None:
    reserve(
        mode="normal",
        session_ref="",
        amount=ESTIMATE,
        ceilings=Ceilings(session=None, daily=Decimal("1.00")),
    )
    spend(mode="normal", cost="0.10")

    # The ceiling was edited down: the old block does not count as room under it.
    with pytest.raises(BudgetExceeded):
        reserve(
            mode="normal",
            session_ref="",
            amount=ESTIMATE,
            ceilings=Ceilings(session=None, daily=Decimal("0.30")),
        )
