"""Model health: a model that keeps failing is skipped for a cool-down, then tried again.

A circuit breaker per model. After `ROUTING_FAILURE_THRESHOLD` failures in a row the model
cools down for `ROUTING_COOLDOWN_SECONDS`; once that passes it gets one more chance, and one
more failure sends it straight back, until a success resets the count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from routing.models import ModelHealth
from routing.services.lookups import healths

MAX_ERROR_CHARS = 500


def record_failure(*, model: str, error: str, now: datetime | None = None) -> ModelHealth:
    now = now or timezone.now()
    ModelHealth.objects.get_or_create(model_id=model)
    ModelHealth.objects.filter(model_id=model).update(
        consecutive_failures=F("consecutive_failures") + 1,
        last_error=error[:MAX_ERROR_CHARS],
        last_failure_at=now,
    )
    health = ModelHealth.objects.get(model_id=model)
    if health.consecutive_failures >= settings.ROUTING_FAILURE_THRESHOLD:
        health.cooldown_until = now + timedelta(seconds=settings.ROUTING_COOLDOWN_SECONDS)
        health.save(update_fields=["cooldown_until"])
    healths.clear()  # the updates above send no signal
    return health


def record_success(*, model: str, now: datetime | None = None) -> None:
    ModelHealth.objects.filter(model_id=model).update(
        consecutive_failures=0, cooldown_until=None, last_success_at=now or timezone.now()
    )
    healths.clear()


def forget_failures(*, model_ids: list[str]) -> int:
    """End cool-downs by hand (an operator who knows the upstream is back)."""
    count = ModelHealth.objects.filter(model_id__in=model_ids).update(
        consecutive_failures=0, cooldown_until=None
    )
    healths.clear()
    return count
