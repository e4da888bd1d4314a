"""Model health: a circuit breaker per model, shared by every process through its row.

closed     calls use the model. A failure that says something about the model (a 5xx, a
           timeout, a broken or failed stream, no provider for it) adds one to its count;
           any success sets the count back to 0. At `ROUTING_FAILURE_THRESHOLD` in a row it
           opens, and the count goes back to 0.
open       calls skip it for `ROUTING_COOLDOWN_SECONDS` (`cooldown_until`). Failures of calls
           that were already under way when it opened do not count again.
half-open  once the cool-down has passed, one call claims the probe (`probe_until`, a lease
           so that a call that dies does not hold it) and is sent; the others skip it. The
           probe's success closes it; its failure opens it for another cool-down; a probe that
           says nothing (the caller hung up, a 429, a refused key) gives the probe back.

What does not count: the caller's mistakes (400), the account's (401, 402), rate limits
(429), and faults of ours. A mode is never taken offline by breakers alone: when every
model a call could use is open, the call goes to the first of them anyway (selection.py),
and its success closes that breaker.

Every write is one conditional UPDATE, so two processes recording at once cannot both open a
breaker twice or both claim a probe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, F, PositiveIntegerField, Q, When
from django.utils import timezone

from routing.models import ModelHealth
from routing.redaction import redact_text
from routing.services.lookups import healths

MAX_ERROR_CHARS = 500


def _cooldown() -> timedelta:
    return timedelta(seconds=settings.ROUTING_COOLDOWN_SECONDS)


def probe_lease() -> timedelta:
    """How long a probe is held for one call: time enough to be answered."""
    return timedelta(seconds=settings.ROUTING_CONNECT_TIMEOUT + settings.ROUTING_READ_TIMEOUT)


def record_failure(
    *, model: str, error: str, probe: bool = False, now: datetime | None = None
) -> None:
    """A failure that says something about the model. `probe`: this call held the probe of a
    half-open breaker, which now opens again."""
    now = now or timezone.now()
    rows = ModelHealth.objects.filter(model_id=model)
    ModelHealth.objects.get_or_create(model_id=model)
    noted = {"last_error": redact_text(error)[:MAX_ERROR_CHARS], "last_failure_at": now}
    if probe:
        rows.update(
            **noted, consecutive_failures=0, cooldown_until=now + _cooldown(), probe_until=None
        )
    else:
        closed = Q(cooldown_until__isnull=True)
        rows.update(
            **noted,
            consecutive_failures=Case(
                When(closed, then=F("consecutive_failures") + 1),
                default=F("consecutive_failures"),
                output_field=PositiveIntegerField(),
            ),
        )
        rows.filter(closed, consecutive_failures__gte=settings.ROUTING_FAILURE_THRESHOLD).update(
            consecutive_failures=0, cooldown_until=now + _cooldown(), probe_until=None
        )
    healths.clear()  # the updates above send no signal


def record_success(*, model: str, now: datetime | None = None) -> None:
    """The model answered: its breaker closes and its count goes back to 0."""
    ModelHealth.objects.filter(model_id=model).update(
        consecutive_failures=0,
        cooldown_until=None,
        probe_until=None,
        last_success_at=now or timezone.now(),
    )
    healths.clear()


def claim_probe(*, model: str, now: datetime | None = None) -> bool:
    """Whether this call is the one that probes the model's half-open breaker."""
    now = now or timezone.now()
    claimed = (
        ModelHealth.objects.filter(model_id=model, cooldown_until__lte=now)
        .filter(Q(probe_until__isnull=True) | Q(probe_until__lte=now))
        .update(probe_until=now + probe_lease())
    )
    healths.clear()
    return claimed == 1


def release_probe(*, model: str) -> None:
    """The probe was not sent, or its answer said nothing about the model: another call may
    probe it."""
    ModelHealth.objects.filter(model_id=model, probe_until__isnull=False).update(probe_until=None)
    healths.clear()


def forget_failures(*, model_ids: list[str]) -> int:
    """Close breakers by hand (an operator who knows the upstream is back)."""
    count = ModelHealth.objects.filter(model_id__in=model_ids).update(
        consecutive_failures=0, cooldown_until=None, probe_until=None
    )
    healths.clear()
    return count
