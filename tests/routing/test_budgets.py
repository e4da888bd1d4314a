"""Ceilings: a call that could pass one is refused before it is sent."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from routing.errors import BudgetExceeded
from routing.jobs import purge_lapsed_reservations_job
from routing.models import BudgetCounter, BudgetReservation, ModelCall, Outcome
from routing.providers import OpenRouterProvider
from routing.schedules import SCHEDULES
from routing.services import Ceilings, CostTracker, complete, reserve
from routing.services.budgets import HeldSettlements
from tests.routing.factories import priced_normal_policy, spend
from tests.routing.fake_openrouter import FakeOpenRouter, completion

pytestmark = pytest.mark.django_db

ASK = [{"role": "user", "content": "hi"}]


@pytest.fixture
def priced_policy() -> None:
    """Every call is estimated at exactly $0.01; two fit in a day."""
    priced_normal_policy(daily_ceiling="0.025", session_ceiling="1.00")


@pytest.mark.usefixtures("priced_policy")
def test_refused_before_sending_when_the_daily_ceiling_could_be_passed(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    spend(mode="normal", cost="0.02")

    with pytest.raises(BudgetExceeded) as caught:
        complete(mode="normal", messages=ASK, provider=openrouter)

    error = caught.value
    assert fake_openrouter.posts == []
    assert error.ceiling_name == "daily normal mode"
    assert error.remaining == Decimal("0.005")
    assert "daily normal mode ceiling of $0.025 has $0.005 left" in str(error)
    assert "up to $0.01" in str(error)
    refused = ModelCall.objects.get(outcome=Outcome.REFUSED)
    assert refused.cost == 0 and refused.estimated_cost == Decimal("0.01")


@pytest.mark.usefixtures("priced_policy")
def test_yesterdays_spend_does_not_count_today(openrouter: OpenRouterProvider) -> None:
    spend(mode="normal", cost="0.02", created_at=timezone.now() - timedelta(days=1))

    result = complete(mode="normal", messages=ASK, provider=openrouter)

    assert result.call_id is not None


@pytest.mark.usefixtures("priced_policy")
def test_the_session_ceiling_counts_only_that_session(openrouter: OpenRouterProvider) -> None:
    spend(mode="code", session_ref="chat:5", cost="0.995")

    with pytest.raises(
        BudgetExceeded, match=re.escape("session chat:5 ceiling of $1.00 has $0.005 left")
    ):
        complete(mode="normal", messages=ASK, session_ref="chat:5", provider=openrouter)

    complete(mode="normal", messages=ASK, session_ref="chat:6", provider=openrouter)


@pytest.mark.usefixtures("priced_policy")
def test_ceilings_given_by_the_caller_override_the_policy(openrouter: OpenRouterProvider) -> None:
    spend(mode="normal", cost="0.02")

    result = complete(mode="normal", messages=ASK, provider=openrouter, daily_ceiling=Decimal("5"))

    assert result.call_id is not None


def test_money_in_flight_counts_until_it_expires() -> None:
    now = timezone.now()
    ceilings = Ceilings(session=None, daily=Decimal("0.05"))
    BudgetReservation.objects.create(
        mode="ops", day=now.date(), amount=Decimal("0.04"), expires_at=now + timedelta(minutes=5)
    )
    BudgetReservation.objects.create(
        mode="ops", day=now.date(), amount=Decimal("0.04"), expires_at=now - timedelta(seconds=1)
    )

    with pytest.raises(BudgetExceeded):
        reserve(mode="ops", session_ref="", amount=Decimal("0.02"), ceilings=ceilings, now=now)
    held = reserve(mode="ops", session_ref="", amount=Decimal("0.01"), ceilings=ceilings, now=now)

    assert held.amount == Decimal("0.01")


def test_exactly_reaching_the_ceiling_is_allowed() -> None:
    ceilings = Ceilings(session=Decimal("0.03"), daily=None)
    spend(session_ref="s", cost="0.02")

    reserve(mode="ops", session_ref="s", amount=Decimal("0.01"), ceilings=ceilings)

    with pytest.raises(BudgetExceeded):
        reserve(mode="ops", session_ref="s", amount=Decimal("0.00000001"), ceilings=ceilings)


@pytest.mark.usefixtures("priced_policy")
def test_the_reservation_is_settled_to_the_actual_cost(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(completion("cheap", model="test/primary", cost="0.001"))

    complete(mode="normal", messages=ASK, provider=openrouter)

    assert not BudgetReservation.objects.exists()
    call = ModelCall.objects.get()
    assert (call.estimated_cost, call.cost) == (Decimal("0.01"), Decimal("0.001"))


@pytest.mark.usefixtures("priced_policy")
def test_a_held_settlement_keeps_the_estimate_reserved_until_settled(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(completion("later", model="test/primary", cost="0.001"))
    held = HeldSettlements()

    result = complete(mode="normal", messages=ASK, provider=openrouter, held=held)

    assert result.content == "later" and result.call_id is None
    assert not ModelCall.objects.exists()
    assert BudgetReservation.objects.get().amount == Decimal("0.01")  # still counted
    [call] = held.settle_all()
    assert ModelCall.objects.get().pk == call.pk
    assert call.cost == Decimal("0.001")
    assert not BudgetReservation.objects.exists()
    assert held.settle_all() == []  # once only


@pytest.mark.usefixtures("priced_policy")
def test_the_counters_always_equal_the_ledger(
    openrouter: OpenRouterProvider, fake_openrouter: FakeOpenRouter
) -> None:
    fake_openrouter.script(
        completion("a", model="test/primary", cost="0.0031"),
        completion("b", model="test/primary", cost="0.00012345"),
    )
    complete(mode="normal", messages=ASK, session_ref="chat:1", provider=openrouter)
    complete(mode="normal", messages=ASK, session_ref="chat:2", provider=openrouter)
    spend(mode="normal", cost="0.004", session_ref="chat:1")

    tracker = CostTracker()
    counters = dict(BudgetCounter.objects.values_list("key", "spent"))
    today = timezone.now().date().isoformat()
    assert counters[f"mode:normal:{today}"] == tracker.spend(mode="normal") == Decimal("0.00722345")
    assert counters["session:chat:1"] == tracker.spend(session_ref="chat:1") == Decimal("0.0071")
    assert (
        counters["session:chat:2"] == tracker.spend(session_ref="chat:2") == Decimal("0.00012345")
    )


def test_lapsed_reservations_are_purged_and_live_ones_kept() -> None:
    now = timezone.now()
    lapsed = BudgetReservation.objects.create(
        mode="normal", day=now.date(), amount=Decimal("0.2"), expires_at=now - timedelta(seconds=1)
    )
    live = BudgetReservation.objects.create(
        mode="normal", day=now.date(), amount=Decimal("0.01"), expires_at=now + timedelta(hours=1)
    )

    assert purge_lapsed_reservations_job() == "1 lapsed reservations deleted"

    assert list(BudgetReservation.objects.values_list("pk", flat=True)) == [live.pk]
    assert not BudgetReservation.objects.filter(pk=lapsed.pk).exists()
    assert {
        "name": "routing.purge_lapsed_reservations",
        "func": "routing.jobs.purge_lapsed_reservations_job",
        "minutes": 60,
    } in SCHEDULES
