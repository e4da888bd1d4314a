"""The price table: OpenRouter's model list (GET /models), or the snapshot shipped with us."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from routing.errors import ProviderError, ProviderUnavailable
from routing.models import ModelPrice
from routing.money import PRICE_DIGITS, PRICE_PLACES

SNAPSHOT_PATH = Path(__file__).resolve().parent.parent / "data" / "models_snapshot.json"
FIELDS = (
    "name",
    "context_length",
    "prompt_price",
    "completion_price",
    "variable_pricing",
    "supported_parameters",
)


@dataclass(frozen=True)
class SyncResult:
    created: int
    updated: int
    unchanged: int
    skipped: int

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped"
        )


# What the price columns hold: dollars per token below this.
MAX_PRICE = Decimal(10) ** (PRICE_DIGITS - PRICE_PLACES)
MAX_CONTEXT = 2**31 - 1  # an integer column on every database


def _price(value: Any) -> Decimal | None:
    """A price per token, or None for what is not one (a NaN, a word, a number too large to
    store): one bad entry skips its model, never the whole sync."""
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not price.is_finite() or abs(price) >= MAX_PRICE:
        return None
    return price


def _context_length(value: Any) -> int:
    try:
        return min(max(int(value or 0), 0), MAX_CONTEXT)
    except (TypeError, ValueError, OverflowError):
        return 0  # unknown


def _clean(text: str) -> str:
    """Text a database can store: no NUL (PostgreSQL's text and jsonb refuse it), no lone
    surrogate (not UTF-8)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def parse_model(raw: Any) -> dict[str, Any] | None:
    """The price-table fields of one entry of GET /models, or None if it is unusable."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        return None
    if _clean(raw["id"]) != raw["id"]:
        return None  # an id cannot be cleaned: it would name another model
    pricing = raw.get("pricing") or {}
    if not isinstance(pricing, dict):
        return None
    prompt, completion = _price(pricing.get("prompt", "0")), _price(pricing.get("completion", "0"))
    if prompt is None or completion is None:
        return None
    # OpenRouter lists routers such as openrouter/auto at -1: the price of whatever it picks.
    variable = prompt < 0 or completion < 0
    parameters = raw.get("supported_parameters")
    if not isinstance(parameters, list):
        parameters = []
    return {
        "model_id": raw["id"][:200],
        "name": _clean(str(raw.get("name") or ""))[:200],
        "context_length": _context_length(raw.get("context_length")),
        "prompt_price": Decimal(0) if variable else prompt,
        "completion_price": Decimal(0) if variable else completion,
        "variable_pricing": variable,
        "supported_parameters": [_clean(p) for p in parameters if isinstance(p, str)],
    }


def sync_model_prices(*, models: Iterable[Any], source: str) -> SyncResult:
    """Insert or update a row per model; models no longer listed are kept (policies may name
    them, and the ledger's old costs were computed from them)."""
    existing = {row.model_id: row for row in ModelPrice.objects.all()}
    created = updated = unchanged = skipped = 0
    now = timezone.now()
    for raw in models:
        fields = parse_model(raw)
        if fields is None:
            skipped += 1
            continue
        row = existing.get(fields["model_id"])
        if row is None:
            # Kept, so that the same id listed again updates this row instead of clashing.
            row = ModelPrice.objects.create(**fields, source=source, updated_at=now)
            existing[row.model_id] = row
            created += 1
            continue
        if all(getattr(row, name) == fields[name] for name in FIELDS):
            unchanged += 1
            continue
        for name in FIELDS:
            setattr(row, name, fields[name])
        row.source, row.updated_at = source, now
        row.save()
        updated += 1
    return SyncResult(created, updated, unchanged, skipped)


def models_in(document: Any) -> list[Any]:
    """The model list of a GET /models body ({"data": [...]}) or of a bare list."""
    if isinstance(document, dict):
        document = document.get("data")
    if not isinstance(document, list):
        raise ValueError('expected {"data": [...]} or a list of models')
    return document


def read_model_file(path: Path) -> list[Any]:
    return models_in(json.loads(path.read_text()))


def fetch_model_list(*, base_url: str | None = None, timeout: float | None = None) -> list[Any]:
    url = f"{(base_url or settings.OPENROUTER_BASE_URL).rstrip('/')}/models"
    headers = {}
    if settings.OPENROUTER_API_KEY:
        headers["Authorization"] = f"Bearer {settings.OPENROUTER_API_KEY}"
    read_timeout = timeout or float(settings.ROUTING_READ_TIMEOUT)
    try:
        response = requests.get(
            url, headers=headers, timeout=(float(settings.ROUTING_CONNECT_TIMEOUT), read_timeout)
        )
    except requests.exceptions.RequestException as exc:
        raise ProviderUnavailable(f"Could not fetch {url} ({type(exc).__name__}).") from None
    if response.status_code != 200:
        raise ProviderError(f"{url} answered {response.status_code}: {response.text[:200]}")
    try:
        return models_in(response.json())
    except ValueError as exc:
        raise ProviderError(f"{url} sent an unexpected body: {exc}") from None


def sync_from_openrouter() -> SyncResult:
    return sync_model_prices(models=fetch_model_list(), source="api")


def load_snapshot(path: Path = SNAPSHOT_PATH) -> SyncResult:
    return sync_model_prices(models=read_model_file(path), source="snapshot")
