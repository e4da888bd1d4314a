"""`ModePolicies` and `ModelSelector`: which policy, which models, in what order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from routing.errors import ModelNotAllowed, ModelOverPriceCap, NoModelAvailable, UnknownMode
from routing.models import Mode, ModelHealth, Policy, ToolPermission
from routing.providers import OfflineProvider, OpenAICompatibleProvider, OpenRouterProvider
from routing.services import ModelSelector, ModePolicies, health
from tests.routing.factories import ModelPriceFactory, PolicyFactory

pytestmark = pytest.mark.django_db

OPENROUTER = OpenRouterProvider(base_url="http://127.0.0.1:9/api/v1")


def select(
    policy: Policy, *, tools: bool = False, tokens: int = 100, model: str | None = None
) -> list[str]:
    selection = ModelSelector(provider=OPENROUTER).select(
        policy, needs_tools=tools, tokens_needed=tokens, requested_model=model
    )
    return [c.model for c in selection.candidates]


@pytest.fixture
def policy() -> Policy:
    ModelPriceFactory(
        model_id="a/cheap", prompt_price=Decimal("0.000001"), completion_price=Decimal("0.000002")
    )
    ModelPriceFactory(
        model_id="b/dear", prompt_price=Decimal("0.00001"), completion_price=Decimal("0.00005")
    )
    ModelPriceFactory(model_id="c/notools", supported_parameters=["max_tokens"])
    ModelPriceFactory(model_id="d/small", context_length=1000)
    return PolicyFactory(
        mode="code",
        model="b/dear",
        fallback_models=["c/notools", "d/small", "a/cheap"],
        max_price_per_1k=Decimal("0.01"),
    )


@pytest.mark.usefixtures("routing_defaults")
def test_seeded_policies_hold_the_defaults() -> None:
    policies = {p.mode: p for p in ModePolicies().policies()}

    assert list(policies) == Mode.values
    expected = {
        "normal": ("openrouter/auto", "0.01", 10, 300, 3),
        "deep_research": ("anthropic/claude-3-opus", "0.10", 50, 1800, 5),
        "code": ("anthropic/claude-3.5-sonnet", "0.03", 20, 900, 3),
        "ops": ("openai/gpt-4o-mini", "0.001", 5, 120, 2),
    }
    for mode, (model, cap, iterations, seconds, retries) in expected.items():
        policy = policies[mode]
        assert (
            policy.model,
            policy.max_price_per_1k,
            policy.max_iterations,
            policy.max_seconds,
            policy.max_retries,
        ) == (model, Decimal(cap), iterations, seconds, retries)
        assert policy.fallback_models and policy.session_ceiling > 0 and policy.daily_ceiling > 0
    assert policies["ops"].allows_tool(ToolPermission.DANGEROUS)
    assert not policies["deep_research"].allows_tool(ToolPermission.WRITE)


@pytest.mark.usefixtures("routing_defaults")
def test_every_seeded_model_is_priced_and_fits_its_policy() -> None:
    for policy in ModePolicies().policies():
        assert select(policy, tools=True) == policy.models_in_order


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(UnknownMode, match="the modes are normal, deep_research, code, ops"):
        ModePolicies().policy_for("turbo")


def test_models_over_the_price_cap_are_skipped(policy: Policy) -> None:
    selection = ModelSelector(provider=OPENROUTER).select(
        policy, needs_tools=False, tokens_needed=100
    )

    assert [c.model for c in selection.candidates] == ["c/notools", "d/small", "a/cheap"]
    assert selection.skipped[0].model == "b/dear"
    assert "$0.05 per 1k tokens, over the cap of $0.01" in selection.skipped[0].reason


def test_tools_and_context_window_rule_models_out(policy: Policy) -> None:
    assert select(policy, tools=True, tokens=5000) == ["a/cheap"]
    assert select(policy, tools=False, tokens=500) == ["c/notools", "d/small", "a/cheap"]


def test_an_open_breaker_skips_its_model_until_the_cool_down_ends(policy: Policy) -> None:
    now = timezone.now()
    ModelHealth.objects.create(model_id="c/notools", cooldown_until=now + timedelta(minutes=1))

    resting = ModelSelector(provider=OPENROUTER, now=now).select(
        policy, needs_tools=False, tokens_needed=1
    )
    half_open = ModelSelector(provider=OPENROUTER, now=now + timedelta(minutes=2)).select(
        policy, needs_tools=False, tokens_needed=1
    )

    assert [c.model for c in resting.candidates] == ["d/small", "a/cheap"]
    assert "its circuit is open" in resting.skipped[1].reason
    assert half_open.candidates[0].model == "c/notools"
    assert half_open.candidates[0].probe  # this call holds the probe


def test_a_half_open_breaker_is_probed_by_one_call_at_a_time(policy: Policy) -> None:
    now = timezone.now()
    ModelHealth.objects.create(model_id="c/notools", cooldown_until=now - timedelta(seconds=1))
    first = ModelSelector(provider=OPENROUTER, now=now).select(
        policy, needs_tools=False, tokens_needed=1
    )

    second = ModelSelector(provider=OPENROUTER, now=now).select(
        policy, needs_tools=False, tokens_needed=1
    )

    assert first.candidates[0].model == "c/notools" and first.candidates[0].probe
    assert [c.model for c in second.candidates] == ["d/small", "a/cheap"]
    assert "probed by another call" in second.skipped[1].reason


def test_a_probe_whose_call_died_is_claimed_again_after_its_lease(
    policy: Policy, settings: Any
) -> None:
    now = timezone.now()
    ModelHealth.objects.create(model_id="c/notools", cooldown_until=now - timedelta(seconds=1))
    assert health.claim_probe(model="c/notools", now=now)
    lease = settings.ROUTING_CONNECT_TIMEOUT + settings.ROUTING_READ_TIMEOUT

    assert not health.claim_probe(model="c/notools", now=now + timedelta(seconds=lease - 1))
    assert health.claim_probe(model="c/notools", now=now + timedelta(seconds=lease + 1))


def test_breakers_alone_never_leave_a_call_without_a_model(policy: Policy) -> None:
    """Every model open: the first is used anyway, so that one client's failures cannot take
    a mode offline for everyone (issue 15); its success will close its breaker."""
    now = timezone.now()
    for model in ("c/notools", "d/small", "a/cheap"):
        ModelHealth.objects.create(model_id=model, cooldown_until=now + timedelta(minutes=5))

    selection = ModelSelector(provider=OPENROUTER, now=now).select(
        policy, needs_tools=False, tokens_needed=1
    )

    (only,) = selection.candidates
    assert only.model == "c/notools" and only.last_resort and only.owed_a_verdict


def test_nothing_left_is_an_error_that_lists_every_reason(policy: Policy) -> None:
    with pytest.raises(NoModelAvailable) as caught:
        select(policy, tools=True, tokens=10**6)

    message = str(caught.value)
    assert "b/dear costs" in message and "c/notools does not support tools" in message
    assert "a/cheap has a context window of 8192 tokens" in message


def test_a_requested_model_goes_first_and_must_be_allowed(policy: Policy) -> None:
    assert select(policy, model="a/cheap") == ["a/cheap", "c/notools", "d/small"]
    with pytest.raises(ModelNotAllowed, match="does not allow 'x/other'"):
        select(policy, model="x/other")


def test_a_requested_model_over_the_price_cap_is_refused_naming_the_cap(policy: Policy) -> None:
    """Never quietly served by another model (issue 15)."""
    with pytest.raises(ModelOverPriceCap) as caught:
        select(policy, model="b/dear")

    assert caught.value.status_code == 400 and caught.value.param == "model"
    assert "b/dear costs $0.05 per 1k tokens" in str(caught.value)
    assert "price cap of $0.01 per 1k tokens" in str(caught.value)


def test_unpriced_models_are_skipped_on_openrouter_but_not_on_a_local_server() -> None:
    policy = PolicyFactory(mode="ops", model="llama3:8b", fallback_models=[])
    local = OpenAICompatibleProvider(base_url="http://127.0.0.1:11434/v1")

    with pytest.raises(NoModelAvailable, match="no known price"):
        select(policy)
    selection = ModelSelector(provider=local).select(policy, needs_tools=True, tokens_needed=10)
    assert [c.model for c in selection.candidates] == ["llama3:8b"]
    assert selection.candidates[0].estimate(prompt_tokens=100, completion_tokens=100) == 0


def test_a_router_is_estimated_at_the_price_cap() -> None:
    ModelPriceFactory(
        model_id="openrouter/auto", variable_pricing=True, prompt_price=0, completion_price=0
    )
    policy = PolicyFactory(
        mode="normal", model="openrouter/auto", fallback_models=[], max_price_per_1k=Decimal("0.01")
    )

    [candidate] = (
        ModelSelector(provider=OPENROUTER)
        .select(policy, needs_tools=False, tokens_needed=1)
        .candidates
    )

    assert candidate.estimate(prompt_tokens=1000, completion_tokens=1000) == Decimal("0.02")


def test_mode_allowing_finds_the_first_policy_that_lists_a_model(policy: Policy) -> None:
    PolicyFactory(mode="normal", model="a/cheap", fallback_models=[])

    assert ModePolicies().mode_allowing("a/cheap") == "normal"
    assert ModePolicies().mode_allowing("d/small") == "code"
    assert ModePolicies().mode_allowing("nope/none") is None


def test_the_offline_provider_needs_no_selection() -> None:
    assert OfflineProvider.serves_models is False
