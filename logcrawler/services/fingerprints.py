"""An operator's decisions on a fingerprint: acknowledge, resolve, mute (and unmute)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from engine.permissions import has_permission
from engine.services.history import user_actor
from logcrawler.errors import FingerprintNotFound, InvalidStateChange, NotAllowed
from logcrawler.models import Alert, ErrorFingerprint, FingerprintState
from logcrawler.services.alerts import resolve

ACTIONS: dict[str, FingerprintState] = {
    "acknowledge": FingerprintState.ACKNOWLEDGED,
    "resolve": FingerprintState.RESOLVED,
    "mute": FingerprintState.MUTED,
    "unmute": FingerprintState.ACKNOWLEDGED,
}
MUTE_PERMISSION = "logcrawler.mute_fingerprint"
RESOLVE_PERMISSION = "logcrawler.resolve_fingerprint"
CRAWL_PERMISSION = "logcrawler.crawl_logsource"
# Acknowledging ("someone is on it") silences nothing: anyone signed in may.
ACTION_PERMISSIONS = {
    "resolve": RESOLVE_PERMISSION,
    "mute": MUTE_PERMISSION,
    "unmute": MUTE_PERMISSION,
}
# Resolving or muting closes the fingerprint's alerts; a resolved one that comes back
# regresses (at ingest) and alerts again.
_CLOSES_ALERTS = (FingerprintState.RESOLVED, FingerprintState.MUTED)


def may_change_state(user: Any, action: str) -> bool:
    permission = ACTION_PERMISSIONS.get(action)
    active = bool(getattr(user, "is_active", False))
    return active and (permission is None or has_permission(user, permission))


def check_may_crawl(user: Any) -> None:
    if not has_permission(user, CRAWL_PERMISSION):
        raise NotAllowed(f"crawling a source now needs the {CRAWL_PERMISSION} permission")


@transaction.atomic
def set_fingerprint_state(
    *,
    fingerprint_id: str,
    action: str,
    actor: str = "",
    user: Any = None,
    now: datetime | None = None,
) -> ErrorFingerprint:
    """Act on a fingerprint. A person's action names the `user`, whose permission is checked
    (mute, unmute and resolve need one) and who is the actor; the system's, its `actor`."""
    target = ACTIONS.get(action)
    if target is None:
        raise InvalidStateChange(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if user is not None:
        if not may_change_state(user, action):
            raise NotAllowed(
                f"to {action} an error group needs the {ACTION_PERMISSIONS[action]} permission"
            )
        actor = actor or user_actor(user)
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
