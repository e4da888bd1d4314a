"""`manage.py sync_models`, the shipped snapshot and the daily job."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from routing.jobs import sync_models_job
from routing.models import ModelPrice
from routing.schedules import SCHEDULES
from routing.services.prices import SNAPSHOT_PATH, read_model_file
from tests.commands import assert_one_readable_error, run_manage
from tests.routing.conftest import API_KEY
from tests.routing.fake_openrouter import FakeOpenRouter, error

pytestmark = pytest.mark.django_db

NEW_MODEL = {
    "id": "x-ai/grok-2",
    "name": "xAI: Grok 2",
    "context_length": 131072,
    "pricing": {"prompt": "0.000002", "completion": "0.00001", "request": "0", "image": "0"},
    "supported_parameters": ["tools", "max_tokens"],
}


def sync(*args: str) -> str:
    out = StringIO()
    call_command("sync_models", *args, stdout=out)
    return out.getvalue()


def test_the_snapshot_loads_from_a_file_and_a_second_load_changes_nothing() -> None:
    ModelPrice.objects.all().delete()
    count = len(read_model_file(SNAPSHOT_PATH))

    assert f"{count} created, 0 updated, 0 unchanged" in sync("--from-file", str(SNAPSHOT_PATH))
    assert f"0 created, 0 updated, {count} unchanged" in sync("--from-file", str(SNAPSHOT_PATH))

    sonnet = ModelPrice.objects.get(model_id="anthropic/claude-3.5-sonnet")
    assert (sonnet.prompt_price, sonnet.completion_price) == (
        Decimal("0.000003"),
        Decimal("0.000015"),
    )
    assert sonnet.context_length == 200000 and sonnet.supports_tools
    auto = ModelPrice.objects.get(model_id="openrouter/auto")
    assert auto.variable_pricing and auto.prompt_price == 0


def test_sync_reads_openrouters_model_list(settings: Any, fake_openrouter: FakeOpenRouter) -> None:
    settings.OPENROUTER_BASE_URL = fake_openrouter.base_url
    settings.OPENROUTER_API_KEY = API_KEY
    ModelPrice.objects.all().delete()
    sync("--from-file", str(SNAPSHOT_PATH))
    cheaper = {
        "id": "openai/gpt-4o-mini",
        "name": "OpenAI: GPT-4o-mini",
        "context_length": 128000,
        "pricing": {"prompt": "0.0000001", "completion": "0.0000004"},
        "supported_parameters": ["tools"],
    }
    fake_openrouter.models = [
        cheaper,
        NEW_MODEL,
        {"id": 42},
        {"id": "bad/price", "pricing": {"prompt": "n/a"}},
    ]

    output = sync()

    assert "1 created, 1 updated, 0 unchanged, 2 skipped" in output
    request = fake_openrouter.requests[0]
    assert (request.method, request.path) == ("GET", "/api/v1/models")
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    mini = ModelPrice.objects.get(model_id="openai/gpt-4o-mini")
    assert (mini.prompt_price, mini.completion_price, mini.source) == (
        Decimal("0.0000001"),
        Decimal("0.0000004"),
        "api",
    )
    assert ModelPrice.objects.get(model_id="x-ai/grok-2").context_length == 131072
    assert ModelPrice.objects.filter(model_id="anthropic/claude-3-opus").exists()  # kept


def test_entries_that_cannot_be_stored_are_skipped_not_fatal(
    openrouter_settings: FakeOpenRouter,
) -> None:
    openrouter_settings.models = [
        {"id": "nan/price", "pricing": {"prompt": "NaN", "completion": "0"}},
        {"id": "inf/price", "pricing": {"prompt": "Infinity", "completion": "0"}},
        {"id": "huge/price", "pricing": {"prompt": "1e12", "completion": "0"}},
        {"id": "odd/pricing", "pricing": "free"},
        {**NEW_MODEL, "context_length": "lots", "supported_parameters": "tools"},
    ]

    output = sync()

    assert "1 created, 0 updated, 0 unchanged, 4 skipped" in output
    grok = ModelPrice.objects.get(model_id="x-ai/grok-2")
    assert (grok.context_length, grok.supported_parameters) == (0, [])


def test_a_model_listed_twice_is_stored_once_not_a_crash(
    openrouter_settings: FakeOpenRouter,
) -> None:
    openrouter_settings.models = [NEW_MODEL, {**NEW_MODEL, "pricing": {"prompt": "0.000003"}}]

    output = sync()

    assert "1 created, 1 updated, 0 unchanged, 0 skipped" in output
    grok = ModelPrice.objects.get(model_id="x-ai/grok-2")
    assert grok.prompt_price == Decimal("0.000003")


def test_text_a_database_cannot_hold_is_skipped_or_cleaned(
    openrouter_settings: FakeOpenRouter,
) -> None:
    """PostgreSQL stores no NUL character in text, and no database a lone surrogate."""
    openrouter_settings.models = [
        {**NEW_MODEL, "id": "nul/\x00id"},
        {**NEW_MODEL, "id": "surrogate/\ud800"},
        {**NEW_MODEL, "name": "Grok\x00 2", "supported_parameters": ["tools\x00", "tools"]},
    ]

    output = sync()

    assert "1 created, 0 updated, 0 unchanged, 2 skipped" in output
    grok = ModelPrice.objects.get(model_id="x-ai/grok-2")
    assert (grok.name, grok.supported_parameters) == ("Grok 2", ["tools", "tools"])


def test_an_upstream_failure_is_a_command_error(
    settings: Any, fake_openrouter: FakeOpenRouter
) -> None:
    settings.OPENROUTER_BASE_URL = fake_openrouter.base_url
    fake_openrouter.models_reply = error(500, "Internal error")

    with pytest.raises(CommandError, match="answered 500"):
        sync()


def test_an_unreachable_upstream_is_a_command_error(settings: Any) -> None:
    settings.OPENROUTER_BASE_URL = "http://127.0.0.1:9/api/v1"

    with pytest.raises(CommandError, match="Could not fetch"):
        sync()


def test_the_daily_job_skips_when_openrouter_is_not_in_use(settings: Any) -> None:
    settings.ROUTING_PROVIDER = "offline"

    assert sync_models_job().startswith("skipped")


def test_the_daily_job_syncs_when_openrouter_is_in_use(openrouter_settings: FakeOpenRouter) -> None:
    openrouter_settings.models = [NEW_MODEL]

    assert "1 created" in sync_models_job()
    assert SCHEDULES[0] == {
        "name": "routing.sync_models",
        "func": "routing.jobs.sync_models_job",
        "minutes": 1440,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json", ["is not JSON"]),
        ('{"data": 5}', ['{"data": [...]}']),
        ("[1, 2]", ["none of the 2 models"]),
        ('{"data": [{"id": ["x"], "pricing": "free"}]}', ["none of the 1 models"]),
    ],
)
def test_a_wrongly_shaped_file_exits_non_zero_with_one_readable_line(
    tmp_path: Any, content: str, words: list[str]
) -> None:
    path = tmp_path / "models.json"
    path.write_text(content)

    assert_one_readable_error(run_manage("sync_models", "--from-file", str(path)), *words)
    assert not ModelPrice.objects.exists()
