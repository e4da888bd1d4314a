"""Names with control characters, sent where names come in: worker registration, log sources
over the API, the admin; refused with a 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from config.validators import refuse_control_characters
from engine.models import Worker
from logcrawler.models import LogSource
from tests.factories import api_client_for

pytestmark = pytest.mark.django_db

BAD_NAMES = [
    "web\x00",
    "line\nbreak",
    "tab\there",
    "esc\x1b[31mred",
    "del\x7f",
    "c1\x85mid",
    "rtl\u202egnp.exe",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_validator_refuses_control_characters(name: str) -> None:
    with pytest.raises(ValidationError):
        refuse_control_characters(name)


@pytest.mark.parametrize("name", ["web-1", "Log source (prod) é 日本", "a.b_c:d"])
def test_the_validator_lets_ordinary_names_be(name: str) -> None:
    refuse_control_characters(name)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_registering_a_worker_with_a_control_character_is_a_400(staff: Any, name: str) -> None:
    response = api_client_for(staff).post(
        "/api/workers/", {"name": name, "capabilities": ["echo"]}, format="json"
    )

    assert response.status_code == 400
    assert "name" in response.json()
    assert not Worker.objects.exists()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_log_source_with_a_control_character_is_a_400(staff: Any, name: str) -> None:
    before = LogSource.objects.count()

    response = api_client_for(staff).post(
        "/api/logs/sources/",
        {"name": name, "kind": "http", "settings": {}},
        format="json",
    )

    assert response.status_code == 400
    assert "name" in response.json()
    assert LogSource.objects.count() == before  # PostgreSQL cannot even look up a NUL


@pytest.mark.parametrize("model", [Worker, LogSource])
def test_the_models_refuse_it_too_as_the_admin_checks_them(model: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        model(name="a\nb").full_clean()

    assert "name" in refused.value.message_dict
