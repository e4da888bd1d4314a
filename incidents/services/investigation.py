"""The engine executor of kind `incident.investigate`: one investigation of one incident.

Honest outcomes: the task ends `done` only when the run recorded an outcome for its
incident (a triage or a proposed fix). With the offline provider that is the rule-based
triage, and the incident waits for a person. With a model, the agent runs in a chat
session owned by the service identity; a model that could not be reached, a spent retry
budget or an internal error fails the attempt (chat's executor says so, and resumes the
session on the retry), and so does a tool error or a run that ended with nothing: the
engine retries it with backoff, then fails it. A budget or guardrail stop fails it for
good and puts the incident in front of a person with the reason.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from chat.executor import execute_agent, session_for_task
from chat.models import ChatSession, SessionState
from chat.services import post_message
from chat.stop_reasons import StopReason
from engine.executors import ExecutionContext, PermanentFailure
from incidents.models import Incident, IncidentState
from incidents.services.identity import SERVICE_ACTOR
from incidents.services.intake import INVESTIGATE_KIND
from incidents.services.lifecycle import record
from incidents.services.outcomes import record_finding, run_outcome
from incidents.services.triage import offline_triage
from routing.providers import configured_provider_name

__all__ = ["INVESTIGATE_KIND", "investigate"]

RETRIED = (
    StopReason.MODEL_UNAVAILABLE,
    StopReason.RETRY_BUDGET,
    StopReason.INTERNAL_ERROR,
    StopReason.TOOL_ERROR,
)


class InvestigationFailed(Exception):
    """The attempt ended without an outcome; the engine retries it."""


def investigate(context: ExecutionContext) -> dict[str, Any]:
    incident_id = context.payload.get("incident")
    incident = Incident.objects.filter(pk=incident_id).first() if incident_id else None
    if incident is None:
        raise PermanentFailure(f"payload names incident {incident_id!r}, which does not exist")
    done = run_outcome(incident.pk, context.task_id)
    if done:
        return {"incident": incident.pk, "outcome": done}
    if incident.state != IncidentState.INVESTIGATING:
        return {"incident": incident.pk, "skipped": f"the incident is {incident.state}"}
    if configured_provider_name() == "offline":
        triage, data = offline_triage(incident)
        record_finding(
            incident_id=incident.pk,
            triage=triage,
            data=data,
            actor=SERVICE_ACTOR,
            task_id=context.task_id,
            offline=True,
            waiting_reason="offline: a rule-based triage is written; waiting for a person",
        )
        return {"incident": incident.pk, "outcome": "triage", "offline": True}
    return _run_agent(context, incident)


NO_OUTCOME_NUDGE = (
    "Your last run ended without an outcome for the incident. End with one: "
    "incident_propose_patch (or incident_propose_repair) if you have a fix, otherwise "
    "incident_record_finding."
)


def _nudge_if_ended_empty(session_id: int) -> None:
    """A retry of a run that completed with no outcome starts another run that says what
    it must end with (a run that failed is resumed by chat's executor itself)."""
    with transaction.atomic():
        session = ChatSession.objects.select_for_update().get(pk=session_id)
        if session.state == SessionState.IDLE and session.stop_reason == StopReason.COMPLETED:
            post_message(session_id=session_id, user=None, content=NO_OUTCOME_NUDGE, queue=False)


def _run_agent(context: ExecutionContext, incident: Incident) -> dict[str, Any]:
    session_id = session_for_task(context)
    incident.sessions.add(session_id)
    if context.attempt > 1:
        _nudge_if_ended_empty(session_id)
    result = execute_agent(context)
    if "skipped" in result:
        return {"incident": incident.pk, **result}
    outcome = run_outcome(incident.pk, context.task_id)
    reason = StopReason(result["stop_reason"])
    if outcome:
        return {"incident": incident.pk, "session": session_id, "outcome": outcome}
    stopped = ChatSession.objects.filter(pk=session_id).values_list("stop_detail", flat=True)
    detail = next(iter(stopped), "") or reason.value
    if reason in RETRIED or reason == StopReason.COMPLETED:
        raise InvestigationFailed(
            f"chat session {session_id} ended ({reason.value}) without a triage or a fix: {detail}"[
                :1000
            ]
        )
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        locked.waiting_reason = f"the investigation stopped ({reason.value}): {detail}"[:300]
        locked.save(update_fields=["waiting_reason"])
        record(
            locked, actor=SERVICE_ACTOR, note=locked.waiting_reason, data={"session": session_id}
        )
    raise PermanentFailure(f"investigation stopped ({reason.value}) without an outcome: {detail}")
