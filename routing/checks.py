"""Configuration problems as Django system checks, reported at start with a hint."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import connections


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


@register()
def check_routing_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    provider = settings.ROUTING_PROVIDER
    if provider == "openrouter" and not settings.OPENROUTER_API_KEY:
        messages.append(
            Warning(
                "ROUTING_PROVIDER is openrouter but OPENROUTER_API_KEY is empty.",
                hint="Set OPENROUTER_API_KEY (or OPENROUTER_API_KEY_FILE); every call will "
                "fail with 401 until then.",
                id="routing.W001",
            )
        )
    if provider == "openai_compatible" and not settings.OPENAI_COMPATIBLE_BASE_URL:
        messages.append(
            Error(
                "ROUTING_PROVIDER is openai_compatible but OPENAI_COMPATIBLE_BASE_URL is empty.",
                hint="Set it to the server's /v1 URL, e.g. http://127.0.0.1:11434/v1 for Ollama.",
                id="routing.E002",
            )
        )
    for name in ("OPENROUTER_BASE_URL", "OPENAI_COMPATIBLE_BASE_URL"):
        value = getattr(settings, name)
        if value and not _is_http_url(value):
            messages.append(
                Error(
                    f"{name} is not an http(s) URL: {value!r}.",
                    hint="e.g. https://openrouter.ai/api/v1",
                    id="routing.E001",
                )
            )
    messages += _check_throttle_rates()
    return messages


def _check_throttle_rates() -> list[CheckMessage]:
    from routing.gateway.throttle import parse_rate

    messages: list[CheckMessage] = []
    for name in ("GATEWAY_TOKEN_THROTTLE_RATE", "GATEWAY_POLICY_THROTTLE_RATE"):
        try:
            parse_rate(getattr(settings, name))
        except ValueError as exc:
            messages.append(
                Error(
                    f"{name}: {exc}.", hint="e.g. 600/min; empty for no limit.", id="routing.E004"
                )
            )
    return messages


READ_COMMITTED = "read committed"


@register(Tags.database)
def check_budget_isolation(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Budgets hold under concurrency only at READ COMMITTED on PostgreSQL: `routing_reserve`
    reads, after its lock is granted, what other calls committed meanwhile, which a stricter
    level's single snapshot would hide (two calls could then both see the same money left).
    Runs with `migrate` and `check --database`."""
    messages: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        level = _isolation_level(connection)
        if level != READ_COMMITTED:
            messages.append(
                Error(
                    f"Database {alias!r} runs transactions at {level}; routing's budget "
                    "ceilings need read committed.",
                    hint="Drop isolation_level from the database options and leave the "
                    "server's default_transaction_isolation at 'read committed'.",
                    id="routing.E003",
                )
            )
    return messages


def _isolation_level(connection: Any) -> str:
    configured = connection.settings_dict.get("OPTIONS", {}).get("isolation_level")
    if configured is not None:  # psycopg's IsolationLevel, as Django takes it
        return str(getattr(configured, "name", configured)).replace("_", " ").lower()
    with connection.cursor() as cursor:
        cursor.execute("SHOW default_transaction_isolation")
        return str(cursor.fetchone()[0])
