"""Providers: one class per kind of upstream, chosen from the settings at call time.

To add one: subclass `Provider` (routing/providers/base.py), implement `send`, add it to
`PROVIDER_NAMES` and to `build_provider`, document its settings in docs/configuration.md.
"""

from __future__ import annotations

from django.conf import settings

from routing.providers.base import Provider, ProviderStream
from routing.providers.http import OpenAICompatibleProvider, OpenRouterProvider
from routing.providers.offline import OFFLINE_LABEL, OFFLINE_MODEL, OfflineProvider

PROVIDER_NAMES = ("auto", "openrouter", "openai_compatible", "offline")


def configured_provider_name() -> str:
    """Which provider the settings ask for; `auto` picks the first one configured."""
    choice = settings.ROUTING_PROVIDER
    if choice != "auto":
        return str(choice)
    if settings.OPENROUTER_API_KEY:
        return "openrouter"
    if settings.OPENAI_COMPATIBLE_BASE_URL:
        return "openai_compatible"
    return "offline"


def build_provider(name: str) -> Provider:
    connect_timeout = float(settings.ROUTING_CONNECT_TIMEOUT)
    read_timeout = float(settings.ROUTING_READ_TIMEOUT)
    stream_timeout = float(settings.ROUTING_STREAM_TIMEOUT)
    max_retries = int(settings.ROUTING_MAX_RETRIES)
    max_retry_wait = float(settings.ROUTING_MAX_RETRY_WAIT)
    if name == "openrouter":
        return OpenRouterProvider(
            base_url=settings.OPENROUTER_BASE_URL,
            api_key=settings.OPENROUTER_API_KEY,
            referer=settings.OPENROUTER_APP_URL,
            title=settings.OPENROUTER_APP_TITLE,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            stream_timeout=stream_timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
    if name == "openai_compatible":
        return OpenAICompatibleProvider(
            base_url=settings.OPENAI_COMPATIBLE_BASE_URL,
            api_key=settings.OPENAI_COMPATIBLE_API_KEY,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            stream_timeout=stream_timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
    return OfflineProvider()


def active_provider() -> Provider:
    return build_provider(configured_provider_name())


__all__ = [
    "OFFLINE_LABEL",
    "OFFLINE_MODEL",
    "PROVIDER_NAMES",
    "OfflineProvider",
    "OpenAICompatibleProvider",
    "OpenRouterProvider",
    "Provider",
    "ProviderStream",
    "active_provider",
    "build_provider",
    "configured_provider_name",
]
