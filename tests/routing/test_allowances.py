"""Blocks of reserved money: calls without a session reserve from their process's block, the
ceilings hold across processes, and what a block does not use goes back."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from routing.errors import BudgetExceeded
from routing.models import BudgetCounter, BudgetReservation, Mode, ModelCall, Outcome
from routing.providers import OpenRouterProvider
from routing.services import Ceilings, CostTracker, budgets, complete, outbox, reserve
from routing.services.allowances import AllowancePool, blocks
from tests.routing.factories import priced_normal_policy, spend
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
    priced_normal_policy(daily_ceiling=daily_ceiling, session_ceiling="100")


def in_threads(target: Callable[[], None], count: int) -> None:
    """Run `target` on `count` threads at once; return when all have ended."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def held() -> list[Decimal]:
    return sorted(BudgetReservation.objects.values_list("amount", flat=True))


def day_spent(mode: str = "normal") -> Decimal:
    counter = BudgetCounter.objects.filter(key__startswith=f"mode:{mode}:").first()
    return counter.spent if counter else Decimal(0)


def daily(ceiling: str) -> Ceilings:
    return Ceilings(session=None, daily=Decimal(ceiling))


def settled_call(cost: str, session_ref: str = "") -> ModelCall:
    return CostTracker().prepare(
        mode=Mode.NORMAL,
        session_ref=session_ref,
        provider="openrouter",
        model="test/primary",
        requested_model="test/primary",
        cost=Decimal(cost),
        outcome=Outcome.OK,
    )


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

    assert reservation.block is None
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
    assert in_flight.block is not None
    monkeypatch.setattr("routing.services.allowances.ALLOWANCE_SECONDS", 0)

    reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)

    old = BudgetReservation.objects.get(pk=in_flight.id)
    assert old.amount == ESTIMATE, "the unused 19 went back; the call in flight still holds"
    budgets.release(in_flight)
    assert not BudgetReservation.objects.filter(pk=in_flight.id).exists()


def test_a_call_given_up_returns_its_share_to_the_open_block() -> None:
    ceilings = Ceilings(session=None, daily=Decimal("1.00"))
    first = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
    assert first.block is not None

    with CaptureQueriesContext(connection) as released:
        budgets.release(first)

    assert len(released) == 0
    assert first.block.unused == 20 * ESTIMATE
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
    first, second = AllowancePool(), AllowancePool()

    def reserve_in(process: AllowancePool) -> bool:
        monkeypatch.setattr(budgets, "blocks", process)
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

    in_threads(calls, 8)

    assert (outcomes.count(True), outcomes.count(False)) == (30, 18)
    assert sum(held()) == Decimal("0.30")


def test_inside_a_callers_transaction_a_call_reserves_its_own_row() -> None:
    """The caller's rollback would take a block's row with it while the process spent on."""
    ceilings = Ceilings(session=None, daily=Decimal("1.00"))
    with transaction.atomic():
        reservation = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)

    assert reservation.block is None
    assert held() == [ESTIMATE]


def test_a_forked_child_starts_without_its_parents_blocks() -> None:
    ceilings = Ceilings(session=None, daily=Decimal("1.00"))
    reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
    assert blocks.unused() == 19 * ESTIMATE
    read, write = os.pipe()

    child = os.fork()
    if child == 0:  # the child reports through the pipe and leaves at once
        os.write(write, str(blocks.unused()).encode())
        os._exit(0)
    os.close(write)
    seen = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(child, 0)

    assert seen == "0"
    assert blocks.unused() == 19 * ESTIMATE, "the parent keeps its own"


def test_a_block_is_taken_under_one_ceiling_and_never_spent_under_another() -> None:
    reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=daily("1.00"))
    spend(mode="normal", cost="0.10")

    # The ceiling was edited down to 0.30: the old block goes back (but for the call it
    # holds), and a new one of 0.20 would pass 0.30 (0.10 spent, 0.01 held): exact rows.
    reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=daily("0.30"))

    assert held() == [ESTIMATE, ESTIMATE]


def test_a_quiet_processs_block_is_given_back_by_its_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("routing.services.allowances.GIVE_BACK_AFTER_SECONDS", 0.1)
    one = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=daily("0.25"))
    budgets.settle(one, settled_call("0.01"))

    deadline = time.monotonic() + 10
    while held() and time.monotonic() < deadline:
        time.sleep(0.05)

    assert held() == [], "nothing was in flight: the row went"
    # Spent 0.01 and nothing held: a session call of 0.10 fits under 0.25.
    reserve(mode="normal", session_ref="chat:1", amount=Decimal("0.10"), ceilings=daily("0.25"))


def test_a_ceiling_edited_down_takes_the_old_ceilings_block_back_first() -> None:
    one = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=daily("1.00"))
    budgets.settle(one, settled_call("0.01"))

    # Spent 0.01, nothing in flight: 0.10 fits under the new 0.25, the old block notwithstanding.
    reserve(mode="normal", session_ref="", amount=Decimal("0.10"), ceilings=daily("0.25"))

    assert held() == [Decimal("0.10")]


def test_a_call_the_block_cannot_serve_is_not_refused_over_its_own_processs_block() -> None:
    first = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=daily("0.30"))
    budgets.release(first)  # the block (0.20) is open and wholly unused

    reserve(mode="normal", session_ref="", amount=Decimal("0.25"), ceilings=daily("0.30"))

    assert held() == [Decimal("0.25")]


def test_with_autocommit_off_a_call_reserves_its_own_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """There is a transaction but no atomic block: the caller's rollback would take a block's
    row with it. A 0.30 ceiling then still admits no more than 0.30 across two processes."""
    ceilings = daily("0.30")
    transaction.set_autocommit(False)
    try:
        spend(cost="0")  # the caller's own work: its transaction is open
        reservation = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)
    assert reservation.block is None

    admitted = 0
    for process in (blocks, AllowancePool()):
        monkeypatch.setattr(budgets, "blocks", process)
        for _ in range(40):
            try:
                reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
                admitted += 1
            except BudgetExceeded:
                pass

    assert admitted * ESTIMATE == Decimal("0.30")


def test_a_failed_give_back_is_logged_and_the_call_still_gets_its_money(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ceilings = daily("10.00")
    old = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=ceilings)
    budgets.settle(old, settled_call("0.01"))

    def failing_delete(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection lost while giving a block back")

    # The old block has 0.19 left; a call of 0.20 retires it (drops its row: that fails).
    monkeypatch.setattr("routing.services.allowances.delete_reservation", failing_delete)
    with caplog.at_level(logging.ERROR, logger="routing.services.allowances"):
        new = reserve(mode="normal", session_ref="", amount=Decimal("0.20"), ceilings=ceilings)

    assert new.block is not None and new.block.in_flight == Decimal("0.20")
    assert f"giving back block {old.id} failed" in caplog.text
    assert BudgetReservation.objects.filter(pk=old.id).exists(), "it lapses instead"


def test_a_settlement_that_fails_leaves_its_estimate_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=daily("1.00"))
    assert one.block is not None

    def failing_settlement(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection lost while settling")

    monkeypatch.setattr(budgets, "settle_call", failing_settlement)
    budgets.settle(one, settled_call("0.01"))  # kept in the outbox (test_ledger_outbox.py)

    # The row still holds the estimate, and so does the block, until the outbox lands it.
    assert one.block.in_flight == ESTIMATE
    assert held() == [20 * ESTIMATE]
    assert len(outbox.pending()) == 1


def test_threads_that_find_no_block_take_one_between_them() -> None:
    start = threading.Barrier(8)

    def call() -> None:
        try:
            start.wait()
            reserve(mode="normal", session_ref="", amount=ESTIMATE, ceilings=daily("10.00"))
        finally:
            connection.close()

    in_threads(call, 8)

    amounts = held()
    assert amounts.count(20 * ESTIMATE) == 1, "one block; the others reserved their own"
    assert set(amounts) <= {ESTIMATE, 20 * ESTIMATE}
