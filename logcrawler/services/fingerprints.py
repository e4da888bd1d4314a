"""An operator's decisions on a fingerprint: acknowledge, resolve, mute (and unmute)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from logcrawler.errors import FingerprintNotFound, InvalidStateChange
from logcrawler.models import Alert, ErrorFingerprint, FingerprintState
from logcrawler.services.alerts import resolve

ACTIONS: dict[str, FingerprintState] = {
    "acknowledge": FingerprintState.ACKNOWLEDGED,
    "resolve": FingerprintState.RESOLVED,
    "mute": FingerprintState.MUTED,
    "unmute": FingerprintState.ACKNOWLEDGED,
}
# Resolving or muting closes the fingerprint's alerts; a resolved one that comes back
# regresses (at ingest) and alerts again.
_CLOSES_ALERTS = (FingerprintState.RESOLVED, FingerprintState.MUTED)


@transaction.atomic
def set_fingerprint_state(
    *, fingerprint_id: str, action: str, actor: str, now: datetime | None = None
) -> ErrorFingerprint:
    target = ACTIONS.get(action)
    if target is None:
        raise InvalidStateChange(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    now = now or timezone.now()
    fingerprint = ErrorFingerprint.objects.select_for_update().filter(pk=fingerprint_id).first()
    if fingerprint is None:
        raise FingerprintNotFound(f"fingerprint {fingerprint_id} does not exist")
    if action == "unmute" and fingerprint.state != FingerprintState.MUTED:
        raise InvalidStateChange(f"fingerprint {fingerprint_id} is not muted")
    if fingerprint.state == target:
        return fingerprint
    fingerprint.state = target
    fingerprint.state_changed_at = now
    fingerprint.state_changed_by = actor[:150]
    if target == FingerprintState.RESOLVED:
        fingerprint.resolved_at = now
    fingerprint.save(update_fields=["state", "state_changed_at", "state_changed_by", "resolved_at"])
    if target in _CLOSES_ALERTS:
        for alert in Alert.objects.open().filter(fingerprint=fingerprint).select_related("rule"):
            resolve(alert, now=now, detail=f"fingerprint {target.label.lower()} by {actor}")
    return fingerprint
