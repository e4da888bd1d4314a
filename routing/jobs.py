"""Background jobs, run by django-q2 from the schedules in routing/schedules.py."""

from __future__ import annotations

import logging

from routing.providers import configured_provider_name
from routing.services import outbox, sync_from_openrouter
from routing.services.budgets import purge_lapsed_reservations

logger = logging.getLogger(__name__)


def sync_models_job() -> str:
    """Refresh the price table from OpenRouter; a no-op when OpenRouter is not in use."""
    if configured_provider_name() != "openrouter":
        return "skipped: OpenRouter is not the configured provider"
    result = sync_from_openrouter()
    logger.info("routing.sync_models: %s", result)
    return str(result)


def purge_lapsed_reservations_job() -> str:
    """Drop reservations that lapsed (their process died before settling)."""
    return f"{purge_lapsed_reservations()} lapsed reservations deleted"


def drain_ledger_outbox_job() -> str:
    """Land the settlements the database refused (routing/services/outbox.py)."""
    landed = outbox.drain()
    return f"{landed} settlements landed, {len(outbox.pending())} waiting"
