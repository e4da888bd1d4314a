"""From a code-health finding a person escalates to an incident: one open incident per
finding, investigated like any other (the same limits)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from codehealth.models import Finding, FindingState
from engine.services.history import user_actor
from incidents.errors import InvalidTransition
from incidents.models import Incident, IncidentSource
from incidents.services.intake import ensure_investigation
from incidents.services.lifecycle import open_incident, record
from incidents.services.verification import check_may_decide


def _title(finding: Finding) -> str:
    where = f"{finding.path}:{finding.line}" if finding.line else finding.path
    return f"{finding.rule} in {finding.repository.name} {where}: {finding.message}"


@transaction.atomic
def escalate_finding(finding: Finding, *, user: User) -> tuple[Incident, bool]:
    """The finding's open incident (a history row says it was escalated again), or a new
    one, whose investigation starts if the limits allow; and whether it is new. The
    finding's row is locked first, so two escalations of it make one incident."""
    check_may_decide(user)
    locked = Finding.objects.select_for_update().select_related("repository").get(pk=finding.pk)
    if locked.state == FindingState.FIXED:
        raise InvalidTransition(f"finding {locked.pk} is fixed; there is nothing to escalate")
    actor = user_actor(user)
    current = Incident.objects.filter(findings=locked).not_closed().order_by("-id").first()
    if current is not None:
        record(current, actor=actor, note=f"finding #{locked.pk} escalated again")
        return current, False
    incident = open_incident(
        title=_title(locked),
        source=IncidentSource.CODEHEALTH,
        actor=actor,
        note=f"escalated from code-health finding #{locked.pk} ({locked.tool} {locked.rule}, "
        f"{locked.severity})",
    )
    incident.findings.add(locked)
    ensure_investigation(incident)
    return incident, True
