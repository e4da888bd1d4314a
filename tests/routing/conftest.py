from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.apps import apps

from routing.providers import OpenAICompatibleProvider, OpenRouterProvider
from tests.routing.fake_openrouter import FakeOpenRouter

API_KEY = "sk-or-v1-test-secret-0123456789"

_seed = importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed
_run_limits = importlib.import_module(
    "routing.migrations.0003_policy_run_time_and_retries"
).set_run_limits


@pytest.fixture
def routing_defaults(db: Any) -> None:
    """The rows the data migration seeds; a transactional test elsewhere may have flushed them."""
    _seed(apps, None)
    _run_limits(apps, None)


@pytest.fixture
def fake_openrouter() -> Iterator[FakeOpenRouter]:
    fake = FakeOpenRouter().start()
    yield fake
    fake.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def openrouter(
    fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> Iterator[OpenRouterProvider]:
    """An OpenRouter provider aimed at the fake, recording its backoff waits instead of sleeping."""
    session = requests.Session()
    yield OpenRouterProvider(
        base_url=fake_openrouter.base_url,
        api_key=API_KEY,
        referer="https://juggernaut.example",
        title="Juggernaut tests",
        connect_timeout=2,
        read_timeout=2,
        max_retries=2,
        max_retry_wait=30,
        sleep=sleeps.append,
        session=session,
    )
    session.close()


@pytest.fixture
def compatible(
    fake_openrouter: FakeOpenRouter, sleeps: list[float]
) -> Iterator[OpenAICompatibleProvider]:
    session = requests.Session()
    yield OpenAICompatibleProvider(
        base_url=fake_openrouter.base_url,
        read_timeout=2,
        sleep=sleeps.append,
        session=session,
    )
    session.close()


@pytest.fixture
def openrouter_settings(settings: Any, fake_openrouter: FakeOpenRouter) -> FakeOpenRouter:
    """Settings that make `active_provider()` OpenRouter at the fake, as in production."""
    settings.ROUTING_PROVIDER = "auto"
    settings.OPENROUTER_API_KEY = API_KEY
    settings.OPENROUTER_BASE_URL = fake_openrouter.base_url
    settings.ROUTING_READ_TIMEOUT = 5
    settings.ROUTING_MAX_RETRIES = 0  # retries have their own tests; here one POST per model
    return fake_openrouter


@pytest.fixture
def compatible_settings(settings: Any, fake_openrouter: FakeOpenRouter) -> FakeOpenRouter:
    """Settings that make `active_provider()` an OpenAI-compatible server at the fake: a
    provider without OpenRouter's own fallback, so routing falls back model by model."""
    settings.ROUTING_PROVIDER = "openai_compatible"
    settings.OPENROUTER_API_KEY = ""
    settings.OPENAI_COMPATIBLE_BASE_URL = fake_openrouter.base_url
    settings.ROUTING_READ_TIMEOUT = 5
    settings.ROUTING_MAX_RETRIES = 0
    return fake_openrouter
