"""Demo data for `make run`: one incident that went the whole way, as seeded history
(labelled demo): an alert, an investigation, a proposed fix, its approval, the apply and
the verification window."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, IncidentEvent, IncidentSource, IncidentState
from incidents.services.identity import SERVICE_ACTOR
from incidents.services.lifecycle import SYSTEM_ACTOR, VERIFIER_ACTOR

DEMO_TITLE = "Demo: KeyError 'currency' in checkout (went the whole way)"
TRIAGE = (
    "What happened: checkout failed with KeyError 'currency' for carts created before the "
    "multi-currency release.\nSince: the release, 3 hours before the alert.\nLikely cause: "
    "shop/checkout.py reads cart['currency'] without a default.\nWhere: shop/checkout.py "
    "line 42 (in total_price).\nEvidence: 37 occurrences, all for carts older than the "
    "release."
)
STEPS = (
    ("", IncidentState.OPEN, "system:alert-demo", "new: ERROR traceback fingerprint", 0),
    (IncidentState.OPEN, IncidentState.INVESTIGATING, SYSTEM_ACTOR, "investigation task", 1),
    (IncidentState.INVESTIGATING, IncidentState.INVESTIGATING, SERVICE_ACTOR, "triage", 4),
    (
        IncidentState.INVESTIGATING,
        IncidentState.FIX_PROPOSED,
        SERVICE_ACTOR,
        "Default the cart's currency to the shop's",
        6,
    ),
    (
        IncidentState.FIX_PROPOSED,
        IncidentState.AWAITING_APPROVAL,
        SERVICE_ACTOR,
        "auto-PR waits for a person to merge or reject it",
        6,
    ),
    (IncidentState.AWAITING_APPROVAL, IncidentState.FIX_APPLIED, "user:admin", "merged", 20),
    (
        IncidentState.FIX_APPLIED,
        IncidentState.VERIFYING,
        VERIFIER_ACTOR,
        "verified if its groups stay quiet for 60 min",
        20,
    ),
    (
        IncidentState.VERIFYING,
        IncidentState.VERIFIED,
        VERIFIER_ACTOR,
        "its groups stayed quiet for the whole window",
        81,
    ),
)


@transaction.atomic
def seed_incident_demo() -> str:
    if Incident.objects.filter(demo=True).exists():
        return "already loaded"
    start = timezone.now() - timedelta(hours=3)
    at = {minutes: start + timedelta(minutes=minutes) for *_, minutes in STEPS}
    incident = Incident.objects.create(
        title=DEMO_TITLE,
        source=IncidentSource.LOGCRAWLER,
        state=IncidentState.VERIFIED,
        created_at=start,
        updated_at=at[81],
        triage=TRIAGE,
        applied_at=at[20],
        applied_note="auto-PR merged (demo)",
        verify_until=at[20] + timedelta(minutes=60),
        verified_at=at[81],
        demo=True,
    )
    IncidentEvent.objects.bulk_create(
        IncidentEvent(
            incident=incident,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            note=f"{note} (demo)",
            at=at[minutes],
        )
        for from_state, to_state, actor, note, minutes in STEPS
    )
    return f"incident #{incident.pk} (demo: open to verified)"
