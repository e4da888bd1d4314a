"""The investigating agent's incident tools: `incident_propose_repair` asks for a self-heal
repair that only a person's approval lets run, and the repair done is the incident's fix."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from chat.models import ChatSession
from chat.tools import ToolContext, ToolError, tools
from engine.models import Task, TaskState
from engine.services import approve_task, reject_task
from engine.worker import WorkerLoop
from incidents.models import Incident, IncidentState
from incidents.services import open_incident
from incidents.services.identity import service_user
from incidents.services.lifecycle import change_state
from incidents.services.verification import verify_pass
from selfheal.models import PlaybookExecution
from selfheal.repairs import REPAIR_KIND
from selfheal.services import may_run_repair
from tests.factories import UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def _investigated() -> tuple[Incident, ToolContext]:
    incident = open_incident(title="Tasks stuck", source="selfheal", actor="system:test")
    change_state(incident, IncidentState.INVESTIGATING, actor="system:test")
    session = ChatSession.objects.create(owner=service_user(), mode="ops")
    incident.sessions.add(session)
    return incident, ToolContext(session_id=session.pk, owner_id=session.owner_id, mode="ops")


def _propose(incident: Incident, context: ToolContext) -> Task:
    answer = tools.get("incident_propose_repair").function(
        context, {"incident_id": incident.pk, "reason": "three tasks stuck past their lease"}
    )
    return Task.objects.get(pk=answer["repair_task"])


def _run_repairs() -> int:
    loop = WorkerLoop(worker=WorkerFactory(capabilities=[REPAIR_KIND]))
    ran = 0
    while loop.run_once(only=[REPAIR_KIND]):
        ran += 1
    return ran


def test_the_investigator_cannot_repair_so_its_proposal_waits_for_a_person(staff: Any) -> None:
    incident, context = _investigated()

    repair = _propose(incident, context)

    assert not may_run_repair(service_user())
    assert repair.state == TaskState.WAITING_APPROVAL
    assert repair.created_by == service_user()
    assert _run_repairs() == 0, "nothing runs before a person approves"
    assert not PlaybookExecution.objects.exists()
    incident.refresh_from_db()
    assert incident.state == IncidentState.AWAITING_APPROVAL
    assert f"engine.task#{repair.pk}" in incident.waiting_reason
    assert incident.tasks.filter(pk=repair.pk).exists()
    proposed = incident.events.get(to_state=IncidentState.FIX_PROPOSED)
    assert proposed.note.startswith("repair proposed: ")
    assert proposed.data["outcome"] == "repair"
    assert proposed.actor == f"chat:session-{context.session_id}"


def test_an_approved_repair_runs_as_its_approver_and_the_incident_is_verifying(staff: Any) -> None:
    incident, context = _investigated()
    repair = _propose(incident, context)

    approve_task(task_id=repair.pk, user=staff)
    assert _run_repairs() == 1

    repair.refresh_from_db()
    assert repair.state == TaskState.DONE, repair.error
    execution = PlaybookExecution.objects.get()
    assert execution.triggered_by == "user:olga"
    assert not execution.dry_run
    incident.refresh_from_db()
    assert incident.state == IncidentState.VERIFYING
    assert incident.verify_until is not None
    applied = incident.events.get(to_state=IncidentState.FIX_APPLIED)
    assert applied.actor == f"system:selfheal-execution-{execution.pk}"


def test_a_rejected_or_unrunnable_repair_goes_back_to_a_person(staff: Any) -> None:
    rejected, context = _investigated()
    reject_task(task_id=_propose(rejected, context).pk, user=staff)
    unrunnable, other = _investigated()
    repair = _propose(unrunnable, other)
    # May approve dangerous tasks, but not repair: the repair refuses to run as them.
    approver = UserFactory(username="dana")
    approver.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["approve_dangerous_task", "decide_others_task"],
            content_type__app_label="engine",
        )
    )
    approve_task(task_id=repair.pk, user=approver)
    _run_repairs()
    repair.refresh_from_db()
    assert repair.state == TaskState.FAILED
    assert not PlaybookExecution.objects.exists()

    verify_pass()

    for incident in (rejected, unrunnable):
        incident.refresh_from_db()
        assert incident.state == IncidentState.INVESTIGATING
        assert "repair did not run" in incident.waiting_reason


def test_a_closed_incident_takes_no_repair(staff: Any) -> None:
    incident, context = _investigated()
    change_state(incident, IncidentState.DISMISSED, actor="system:test")

    with pytest.raises(ToolError):
        _propose(incident, context)
    assert not Task.objects.filter(kind=REPAIR_KIND).exists()
