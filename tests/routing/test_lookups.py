"""Policies, prices and health kept in the process for a moment, and forgotten on change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from routing.models import ModelHealth, ModelPrice, Policy
from routing.services import health, lookups
from routing.services.policies import ModePolicies

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(lookups.time, "monotonic", ticking)
    return ticking


def _queries(read: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        read()
    return len(queries.captured_queries)


def test_a_policy_is_read_once_within_the_moment(settings: Any, clock: Clock) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 1
    policies = ModePolicies()

    assert _queries(lambda: policies.policy_for("ops")) == 1
    assert _queries(lambda: policies.policy_for("ops")) == 0
    clock.now += 1.0
    assert _queries(lambda: policies.policy_for("ops")) == 1


def test_a_change_without_a_signal_counts_once_the_moment_passes(
    settings: Any, clock: Clock
) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 1
    policies = ModePolicies()
    policies.policy_for("ops")

    Policy.objects.filter(mode="ops").update(max_iterations=7)  # another process, say

    assert policies.policy_for("ops").max_iterations != 7
    clock.now += 1.5
    assert policies.policy_for("ops").max_iterations == 7


def test_a_saved_policy_counts_from_the_next_call(settings: Any, clock: Clock) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 60
    policies = ModePolicies()
    policy = policies.policy_for("ops")

    policy.max_iterations = 9
    policy.save()  # the admin saves like this

    assert policies.policy_for("ops").max_iterations == 9


def test_a_policy_handed_out_is_a_copy(settings: Any, clock: Clock) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 60
    policies = ModePolicies()

    policies.policy_for("ops").max_iterations = 1234

    assert policies.policy_for("ops").max_iterations != 1234


def test_a_policys_lists_handed_out_are_copies_too(settings: Any, clock: Clock) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 60
    policies = ModePolicies()

    policies.policy_for("ops").tool_permissions.append("test-leaked")
    policies.policy_for("ops").fallback_models.append("test/leaked")

    policy = policies.policy_for("ops")
    assert "test-leaked" not in policy.tool_permissions
    assert "test/leaked" not in policy.fallback_models


def test_a_read_made_while_a_policy_change_commits_is_forgotten_at_commit(
    settings: Any, clock: Clock, django_capture_on_commit_callbacks: Any
) -> None:
    """The admin saves inside a transaction: post_save clears the cache before the change is
    committed, so a call on another thread can read the old row and keep it again."""
    settings.ROUTING_LOOKUP_SECONDS = 60
    old = Policy.objects.get(mode="ops")
    load = lookups.policies._load

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        policy = Policy.objects.get(mode="ops")
        policy.max_iterations = 9
        policy.save()  # clears the cache; not committed yet
        lookups.policies._load = lambda modes: {"ops": old}  # what other connections read
        try:
            lookups.policy_row("ops")
        finally:
            lookups.policies._load = load  # type: ignore[method-assign]

    assert ModePolicies().policy_for("ops").max_iterations == 9


def test_recorded_failures_count_from_the_next_call(settings: Any, clock: Clock) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 60
    settings.ROUTING_FAILURE_THRESHOLD = 1
    assert "openai/gpt-4o-mini" not in lookups.health_rows(["openai/gpt-4o-mini"])

    health.record_failure(model="openai/gpt-4o-mini", error="502")

    assert lookups.health_rows(["openai/gpt-4o-mini"])["openai/gpt-4o-mini"].cooldown_until
    health.forget_failures(model_ids=["openai/gpt-4o-mini"])
    assert lookups.health_rows(["openai/gpt-4o-mini"])["openai/gpt-4o-mini"].cooldown_until is None


def test_a_missing_price_is_remembered_until_prices_change(settings: Any, clock: Clock) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 60
    assert lookups.price_rows(["test/new-model"]) == {}
    assert _queries(lambda: lookups.price_rows(["test/new-model"])) == 0

    ModelPrice.objects.create(
        model_id="test/new-model", prompt_price=Decimal("0.000001"), completion_price=Decimal(0)
    )

    assert list(lookups.price_rows(["test/new-model"])) == ["test/new-model"]


def test_zero_seconds_reads_every_time(settings: Any, clock: Clock) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 0
    lookups.health_rows(["openai/gpt-4o-mini"])
    ModelHealth.objects.create(model_id="openai/gpt-4o-mini", consecutive_failures=2)

    assert (
        lookups.health_rows(["openai/gpt-4o-mini"])["openai/gpt-4o-mini"].consecutive_failures == 2
    )


def test_a_read_under_way_while_the_table_changes_is_not_kept(settings: Any, clock: Clock) -> None:
    settings.ROUTING_LOOKUP_SECONDS = 60
    loads: list[list[str]] = []

    def load_while_the_table_changes(keys: list[str]) -> dict[str, Any]:
        loads.append(keys)
        if len(loads) == 1:
            rows.clear()  # a save lands while the first read is under way
        return {}

    rows: lookups.RowCache[Any] = lookups.RowCache(load_while_the_table_changes)
    rows.get_many(["ops"])
    rows.get_many(["ops"])
    rows.get_many(["ops"])

    assert loads == [["ops"], ["ops"]]  # the first read was not kept; the second was
