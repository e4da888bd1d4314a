"""Routing's system checks, and its place in the layering."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from routing.checks import check_budget_isolation, check_routing_settings

OUR_APPS = {"engine", "chat", "selfheal", "logcrawler", "codehealth"}
ROUTING = Path(__file__).resolve().parents[2] / "routing"


def ids(settings: Any) -> list[str]:
    return [message.id for message in check_routing_settings()]


def test_a_sound_configuration_has_no_findings(settings: Any) -> None:
    settings.ROUTING_PROVIDER = "auto"
    settings.OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
    settings.OPENAI_COMPATIBLE_BASE_URL = ""

    assert ids(settings) == []


def test_openrouter_without_a_key_is_a_warning(settings: Any) -> None:
    settings.ROUTING_PROVIDER = "openrouter"
    settings.OPENROUTER_API_KEY = ""

    assert ids(settings) == ["routing.W001"]


def test_bad_urls_and_a_missing_base_url_are_errors(settings: Any) -> None:
    settings.ROUTING_PROVIDER = "openai_compatible"
    settings.OPENAI_COMPATIBLE_BASE_URL = ""
    settings.OPENROUTER_BASE_URL = "openrouter.ai/api/v1"

    assert ids(settings) == ["routing.E002", "routing.E001"]


def test_routing_imports_no_other_app_of_ours() -> None:
    offenders = []
    for path in ROUTING.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in OUR_APPS]
    assert offenders == []


@pytest.mark.django_db
def test_budgets_need_read_committed_on_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_budget_isolation(databases=["default"]) == []
    if connection.vendor != "postgresql":
        return  # SQLite's IMMEDIATE transactions hold the whole database: no level to check
    from psycopg import IsolationLevel

    options = {
        **connection.settings_dict["OPTIONS"],
        "isolation_level": IsolationLevel.SERIALIZABLE,
    }
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)

    [error] = check_budget_isolation(databases=["default"])
    assert error.id == "routing.E003" and "serializable" in error.msg
