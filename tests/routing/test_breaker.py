"""Model health as a circuit breaker, and the bound on what one call sends upstream, end to end
against the fake upstream: closed, open, half-open with one probe, closed again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from routing.errors import ProviderError, ProviderUnavailable
from routing.models import Breaker, ModelHealth
from routing.services import complete, stream_completion
from tests.routing.fake_openrouter import FakeOpenRouter, completion, error, streamed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]

ASK = [{"role": "user", "content": "Summarise the open tasks."}]
FIRST = "anthropic/claude-3.5-sonnet"  # the code policy's model, then two fallbacks
SECOND = "openai/gpt-4o"


def breaker(model: str = FIRST) -> tuple[Breaker, int]:
    row = ModelHealth.objects.get(pk=model)
    return row.breaker(timezone.now()), row.consecutive_failures


def fail_first_model(fake: FakeOpenRouter, times: int) -> None:
    for _ in range(times):
        fake.script(error(502, "down"), completion("fallback", model=SECOND))
        complete(mode="code", messages=ASK)


@pytest.fixture
def threshold_two(settings: Any) -> None:
    settings.ROUTING_FAILURE_THRESHOLD = 2
    settings.ROUTING_COOLDOWN_SECONDS = 300


@pytest.mark.usefixtures("threshold_two")
def test_failures_in_a_row_open_the_breaker_and_the_count_starts_again(
    compatible_settings: FakeOpenRouter,
) -> None:
    fail_first_model(compatible_settings, 1)
    assert breaker() == (Breaker.CLOSED, 1)

    fail_first_model(compatible_settings, 1)

    assert breaker() == (Breaker.OPEN, 0)
    compatible_settings.requests.clear()
    complete(mode="code", messages=ASK)
    assert compatible_settings.posts[0].body["model"] == SECOND  # skipped while open


@pytest.mark.usefixtures("threshold_two")
def test_a_success_sets_the_count_back(compatible_settings: FakeOpenRouter) -> None:
    fail_first_model(compatible_settings, 1)
    compatible_settings.script(completion("fine", model=FIRST))
    complete(mode="code", messages=ASK)
    assert breaker() == (Breaker.CLOSED, 0)

    fail_first_model(compatible_settings, 1)

    assert breaker() == (Breaker.CLOSED, 1)  # not open: the failures were not in a row


@pytest.mark.usefixtures("threshold_two")
def test_after_the_cool_down_one_call_probes_and_its_success_closes_the_breaker(
    compatible_settings: FakeOpenRouter,
) -> None:
    fake = compatible_settings
    fail_first_model(fake, 2)
    fake.requests.clear()

    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        assert breaker()[0] == Breaker.HALF_OPEN
        fake.script(streamed(["back ", "again"], model=FIRST, event_delay=0.05))
        probe = stream_completion(mode="code", messages=ASK)  # under way: holds the probe
        fake.script(completion("meanwhile", model=SECOND))
        meanwhile = complete(mode="code", messages=ASK)
        text = "".join(delta.text for delta in probe)

    assert meanwhile.content == "meanwhile"  # only the probe goes to the half-open model
    assert [p.body["model"] for p in fake.posts] == [FIRST, SECOND]
    assert text == "back again"
    assert breaker() == (Breaker.CLOSED, 0)
    assert ModelHealth.objects.get(pk=FIRST).probe_until is None


@pytest.mark.usefixtures("threshold_two")
def test_a_failed_probe_opens_the_breaker_for_another_cool_down(
    compatible_settings: FakeOpenRouter,
) -> None:
    fail_first_model(compatible_settings, 2)
    later = timezone.now() + timedelta(seconds=301)

    with time_machine.travel(later):
        fail_first_model(compatible_settings, 1)  # the probe: one failure, not two
        row = ModelHealth.objects.get(pk=FIRST)

    assert row.cooldown_until is not None and row.cooldown_until > later
    assert (row.consecutive_failures, row.probe_until) == (0, None)


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (400, "the caller's request"),
        (401, "the account's key"),
        (402, "the account's credit"),
        (429, "a rate limit"),
    ],
)
def test_failures_that_say_nothing_about_the_model_do_not_count(
    compatible_settings: FakeOpenRouter, status: int, why: str
) -> None:
    compatible_settings.default = error(status, why)  # every model answers so

    with pytest.raises(ProviderError):
        complete(mode="code", messages=ASK)

    assert not ModelHealth.objects.filter(consecutive_failures__gt=0).exists()


@pytest.mark.usefixtures("threshold_two")
def test_one_client_failing_cannot_take_a_mode_offline_for_everyone(
    compatible_settings: FakeOpenRouter,
) -> None:
    """Issue 15: three failing requests opened every model of the code mode, and chat then
    stopped with model_unavailable. Now the next call is still sent, to the first model, and
    its success closes that breaker."""
    fake = compatible_settings
    for _ in range(2):
        fake.script(error(502, "a"), error(502, "b"), error(502, "c"))
        with pytest.raises(ProviderUnavailable):
            complete(mode="code", messages=ASK)
    assert {breaker(m)[0] for m in (FIRST, SECOND, "deepseek/deepseek-chat")} == {Breaker.OPEN}
    fake.requests.clear()
    fake.script(completion("still here", model=FIRST))

    result = complete(mode="code", messages=ASK)

    assert result.content == "still here"
    assert [p.body["model"] for p in fake.posts] == [FIRST]
    assert breaker() == (Breaker.CLOSED, 0)


def test_one_call_sends_at_most_the_bound_retries_and_fallbacks_together(
    compatible_settings: FakeOpenRouter, settings: Any
) -> None:
    settings.ROUTING_MAX_RETRIES = 2  # three tries per model, three models: 9 before
    settings.ROUTING_MAX_UPSTREAM_REQUESTS = 3
    compatible_settings.default = error(503, "overloaded")

    with pytest.raises(ProviderUnavailable):
        complete(mode="code", messages=ASK)

    assert len(compatible_settings.posts) == 3


def test_openrouter_gets_one_request_naming_the_fallbacks_and_retries_within_the_bound(
    openrouter_settings: FakeOpenRouter, settings: Any
) -> None:
    """Each request to OpenRouter may run up to three models (its `models` list), so the
    bound counts requests: at most 3 x ROUTING_MAX_UPSTREAM_REQUESTS model attempts."""
    settings.ROUTING_MAX_RETRIES = 5
    settings.ROUTING_MAX_UPSTREAM_REQUESTS = 2
    openrouter_settings.default = error(502, "every provider failed")

    with pytest.raises(ProviderUnavailable):
        complete(mode="code", messages=ASK)

    posts = openrouter_settings.posts
    assert len(posts) == 2
    assert {tuple(p.body["models"]) for p in posts} == {(FIRST, SECOND, "deepseek/deepseek-chat")}
