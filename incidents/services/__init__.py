"""The incidents app's domain functions: faces (API, pages, admin, command) call these."""

from incidents.services.escalation import escalate_finding
from incidents.services.intake import (
    INVESTIGATE_KIND,
    attach_alert,
    ensure_investigation,
    incident_task_for_alert,
)
from incidents.services.lifecycle import change_state, open_incident
from incidents.services.outcomes import propose_fix, record_finding
from incidents.services.verification import dismiss, mark_applied, verify_pass

__all__ = [
    "INVESTIGATE_KIND",
    "attach_alert",
    "change_state",
    "dismiss",
    "ensure_investigation",
    "escalate_finding",
    "incident_task_for_alert",
    "mark_applied",
    "open_incident",
    "propose_fix",
    "record_finding",
    "verify_pass",
]
