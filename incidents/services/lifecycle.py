"""The one place an incident's state changes: each change is checked against the allowed
transitions, saved with one `IncidentEvent` row naming its actor, and announced on the
operator stream after commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from chat.services import publish_ops_notice
from incidents.errors import IncidentNotFound, InvalidTransition
from incidents.models import CLOSED_STATES, TRANSITIONS, Incident, IncidentEvent, IncidentState

SYSTEM_ACTOR = "system:incidents"
VERIFIER_ACTOR = "system:incidents-verifier"


def may_change(from_state: str, to_state: str) -> bool:
    if to_state == IncidentState.DISMISSED:
        return from_state not in CLOSED_STATES
    return to_state in TRANSITIONS.get(from_state, ())


def lock_incident(incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None:
        raise IncidentNotFound(f"incident {incident_id} does not exist")
    return incident


def record(
    incident: Incident,
    *,
    actor: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    from_state: str | None = None,
) -> IncidentEvent:
    """A history row without a change of state (an alert attached, a triage written)."""
    now = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(updated_at=now)
    incident.updated_at = now
    return IncidentEvent.objects.create(
        incident=incident,
        from_state=incident.state if from_state is None else from_state,
        to_state=incident.state,
        actor=actor[:150],
        note=note,
        data=data or {},
        at=now,
    )


def change_state(
    incident: Incident,
    to_state: IncidentState,
    *,
    actor: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> IncidentEvent:
    """Move the incident (held by the caller, in a transaction) and save `fields` with it."""
    from_state = incident.state
    if not may_change(from_state, to_state):
        raise InvalidTransition(
            f"incident {incident.pk} is {from_state}; it cannot become {to_state}"
        )
    incident.state = to_state
    for name, value in fields.items():
        setattr(incident, name, value)
    incident.updated_at = timezone.now()
    incident.save(update_fields=["state", "updated_at", *fields])
    event = IncidentEvent.objects.create(
        incident=incident,
        from_state=from_state,
        to_state=to_state,
        actor=actor[:150],
        note=note,
        data=data or {},
        at=incident.updated_at,
    )
    notice = {
        "incident": incident.pk,
        "title": incident.title[:200],
        "from_state": from_state,
        "state": str(to_state),
        "actor": actor[:150],
        "url": reverse("incidents:detail", args=[incident.pk]),
    }
    transaction.on_commit(lambda: publish_ops_notice("incident", notice))
    return event


def open_incident(
    *, title: str, source: str, actor: str, note: str = "", demo: bool = False
) -> Incident:
    incident = Incident.objects.create(title=title[:300], source=source, demo=demo)
    IncidentEvent.objects.create(
        incident=incident,
        from_state="",
        to_state=IncidentState.OPEN,
        actor=actor[:150],
        note=note,
        at=incident.created_at,
    )
    return incident
