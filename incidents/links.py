"""Links back to an incident from the pages below it: a task's page (the engine's seam), an
error group's page (the log crawler's) and a chat session's page (chat's). Each names the
incident's state, so a task done beside an incident still open does not look finished.

And the "Escalate" button on a code-health finding's row (code health's finding actions)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.urls import reverse

from chat.models import ChatSession
from codehealth.links import FindingAction
from codehealth.models import Finding, FindingState
from engine.links import TaskLink
from engine.models import Task
from incidents.models import Incident, IncidentState
from incidents.services.verification import DECIDE_PERMISSION
from logcrawler.models import ErrorFingerprint

# The site's badge classes (`st-<badge>`), the incidents' own are not on those pages.
BADGES = {
    IncidentState.OPEN: "failed",
    IncidentState.REGRESSED: "failed",
    IncidentState.INVESTIGATING: "running",
    IncidentState.FIX_PROPOSED: "running",
    IncidentState.AWAITING_APPROVAL: "waiting_approval",
    IncidentState.FIX_APPLIED: "pending",
    IncidentState.VERIFYING: "pending",
    IncidentState.VERIFIED: "done",
    IncidentState.DISMISSED: "cancelled",
}
SHOWN = 5


def _links(incidents: Iterable[Incident]) -> Iterable[TaskLink]:
    for incident in incidents:
        yield TaskLink(
            f"Incident #{incident.pk} {incident.title[:80]}",
            reverse("incidents:detail", args=[incident.pk]),
            state=f"incident {incident.get_state_display().lower()}",
            badge=BADGES.get(IncidentState(incident.state), "done"),
        )


def _newest(rows: QuerySet[Incident]) -> list[Incident]:
    return list(rows.order_by("-id")[:SHOWN])


def task_links(task: Task) -> Iterable[TaskLink]:
    return _links(_newest(Incident.objects.filter(tasks=task)))


def fingerprint_links(fingerprint: ErrorFingerprint) -> Iterable[TaskLink]:
    return _links(_newest(Incident.objects.filter(fingerprints=fingerprint)))


def session_links(session: ChatSession) -> Iterable[TaskLink]:
    return _links(_newest(Incident.objects.filter(sessions=session)))


def finding_actions(finding: Finding) -> Iterable[FindingAction]:
    """No query: escalating a finding that has an open incident leads to that incident."""
    if finding.state != FindingState.FIXED:
        yield FindingAction(
            "Escalate",
            reverse("incidents:escalate-finding", args=[finding.pk]),
            permission=DECIDE_PERMISSION,
            title="Open an incident for it (or go to its open one): investigated and verified",
        )
