"""The investigating agent's incident tools (ops mode): read the incident, write the
triage, propose a fix. Code is read with code health's tools (code_read_file,
code_search); a fix is proposed through code health's `propose_patch`, which this app's
tool wraps only to link the auto-PR to the incident, or as a self-heal repair that a person
approves (self-heal's `request_repair`: the investigator may not repair itself).

Each tool acts for the session's owner, who needs `incidents.investigate_incident` (the
service identity holds it), on an incident whose investigation the session is.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from chat.tools import Tool, ToolContext, ToolError, register_tool
from codehealth.models import Repository
from codehealth.services import get_repository
from engine.services.errors import EngineError
from incidents.models import Incident
from incidents.services.outcomes import (
    check_may_investigate,
    propose_fix,
    propose_repair,
    record_finding,
)
from incidents.services.triage import stack_frames
from routing.models import Mode, ToolPermission

MODES = (Mode.OPS,)
SAMPLE_CHARS = 2000


def _actor(context: ToolContext) -> str:
    return f"chat:session-{context.session_id}"


def _owner(context: ToolContext) -> User | None:
    return User.objects.filter(pk=context.owner_id).first() if context.owner_id else None


def _incident(context: ToolContext, arguments: dict[str, Any]) -> Incident:
    try:
        check_may_investigate(_owner(context))
    except EngineError as exc:
        raise ToolError(str(exc)) from exc
    incident = Incident.objects.filter(
        pk=arguments["incident_id"], sessions=context.session_id
    ).first()
    if incident is None:
        raise ToolError(f"incident {arguments['incident_id']} is not one this session investigates")
    return incident


def _current_task(context: ToolContext) -> int | None:
    from chat.models import ChatSession

    return (
        ChatSession.objects.filter(pk=context.session_id)
        .values_list("current_task_id", flat=True)
        .first()
    )


def incident_detail(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    incident = _incident(context, arguments)
    groups = []
    for group in incident.fingerprints.all()[:10]:
        groups.append(
            {
                "id": group.pk,
                "service": group.service,
                "level": group.level,
                "kind": group.kind,
                "state": group.state,
                "template": group.template[:1000],
                "sample": group.sample_message[:SAMPLE_CHARS],
                "frames": stack_frames(group.sample_message),
                "first_seen": group.first_seen.isoformat(),
                "last_seen": group.last_seen.isoformat(),
                "count": group.total_count,
            }
        )
    return {
        "id": incident.pk,
        "title": incident.title,
        "state": incident.state,
        "regressions": incident.regressions,
        "groups": groups,
        "alerts": [
            {"id": a.pk, "reason": a.reason, "title": a.title, "state": a.state}
            for a in incident.alerts.all()[:20]
        ],
        "findings": [
            {
                "id": f.pk,
                "repository": f.repository.name,
                "tool": f.tool,
                "rule": f.rule,
                "severity": f.severity,
                "path": f.path,
                "line": f.line,
                "message": f.message[:1000],
            }
            for f in incident.findings.select_related("repository")[:10]
        ],
        "history": [
            {
                "at": e.at.isoformat(),
                "from": e.from_state,
                "to": e.to_state,
                "actor": e.actor,
                "note": e.note[:500],
                "data": e.data,
            }
            for e in incident.events.all()[:50]
        ],
        "fixes": [
            {"autopr": p.pk, "title": p.title, "state": p.state, "diff": p.diff[:4000]}
            for p in incident.autoprs.all()[:5]
        ],
        "repositories": list(Repository.objects.values_list("name", flat=True)[:20]),
    }


def incident_record_finding(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    incident = _incident(context, arguments)
    parts = [
        f"What happened: {arguments['what']}",
        f"Since: {arguments.get('since') or 'unknown'}",
        f"Likely cause: {arguments['cause']}",
        f"Where: {arguments.get('where') or 'unknown'}",
        f"Evidence: {arguments.get('evidence') or 'none given'}",
    ]
    try:
        record_finding(
            incident_id=incident.pk,
            triage="\n".join(parts),
            data={k: arguments.get(k, "") for k in ("what", "since", "cause", "where", "evidence")},
            actor=_actor(context),
            task_id=_current_task(context),
        )
    except EngineError as exc:
        raise ToolError(str(exc)) from exc
    return {"incident": incident.pk, "recorded": True, "note": "A person reads it next."}


def incident_propose_patch(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    incident = _incident(context, arguments)
    try:
        repository = get_repository(str(arguments["repository"]))
        autopr = propose_fix(
            incident_id=incident.pk,
            repository=repository,
            diff=str(arguments["diff"]),
            title=str(arguments["title"]),
            description=str(arguments.get("description") or ""),
            actor=_actor(context),
            user=_owner(context),
            task_id=_current_task(context),
        )
    except EngineError as exc:
        raise ToolError(str(exc)) from exc
    return {
        "incident": incident.pk,
        "autopr": autopr.pk,
        "state": "awaiting_approval",
        "note": "A worker builds and tests the branch; a person merges or rejects it.",
    }


def incident_propose_repair(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    incident = _incident(context, arguments)
    try:
        repair = propose_repair(
            incident_id=incident.pk,
            reason=str(arguments["reason"]),
            actor=_actor(context),
            user=_owner(context),
            task_id=_current_task(context),
        )
    except EngineError as exc:
        raise ToolError(str(exc)) from exc
    return {
        "incident": incident.pk,
        "repair_task": repair.pk,
        "state": "awaiting_approval",
        "note": "A person approves or rejects the repair; approved, it runs as them.",
    }


INCIDENT_ID = {"type": "integer", "minimum": 1}
TEXT = {"type": "string", "maxLength": 4000}

TOOLS = (
    Tool(
        name="incident_detail",
        description="An incident you investigate: its error groups (samples, stack frames, "
        "first and last seen, counts), alerts, history (earlier fixes that failed) and "
        "the registered repositories.",
        parameters={
            "type": "object",
            "properties": {"incident_id": INCIDENT_ID},
            "required": ["incident_id"],
            "additionalProperties": False,
        },
        function=incident_detail,
        modes=MODES,
    ),
    Tool(
        name="incident_record_finding",
        description="Write the incident's triage when you cannot propose a fix: what "
        "happened, since when, the likely cause and where, the evidence. A valid outcome; "
        "a person reads it next.",
        parameters={
            "type": "object",
            "properties": {
                "incident_id": INCIDENT_ID,
                "what": {**TEXT, "minLength": 1},
                "since": TEXT,
                "cause": {**TEXT, "minLength": 1},
                "where": TEXT,
                "evidence": TEXT,
            },
            "required": ["incident_id", "what", "cause"],
            "additionalProperties": False,
        },
        function=incident_record_finding,
        permission=ToolPermission.WRITE,
        modes=MODES,
    ),
    Tool(
        name="incident_propose_patch",
        description="Propose the incident's fix as a unified diff (a/ b/ prefixes) against "
        "a registered repository: code health builds it on a branch, tests it and leaves "
        "it for a person to merge or reject. Nothing changes until a person approves.",
        parameters={
            "type": "object",
            "properties": {
                "incident_id": INCIDENT_ID,
                "repository": {"type": "string", "minLength": 1, "maxLength": 200},
                "diff": {"type": "string", "minLength": 1, "maxLength": 200000},
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": {"type": "string", "maxLength": 5000},
            },
            "required": ["incident_id", "repository", "diff", "title"],
            "additionalProperties": False,
        },
        function=incident_propose_patch,
        permission=ToolPermission.WRITE,
        modes=MODES,
        timeout_seconds=60,
    ),
    Tool(
        name="incident_propose_repair",
        description="Propose a self-heal repair as the incident's fix, when the fault is "
        "one it repairs (stuck or blocked tasks, a recurring error pattern): it waits for a "
        "person to approve it, then runs as them, within its bounds, and the incident is "
        "verified. Nothing changes until a person approves.",
        parameters={
            "type": "object",
            "properties": {
                "incident_id": INCIDENT_ID,
                "reason": {"type": "string", "minLength": 1, "maxLength": 500},
            },
            "required": ["incident_id", "reason"],
            "additionalProperties": False,
        },
        function=incident_propose_repair,
        permission=ToolPermission.WRITE,
        modes=MODES,
    ),
)


def register() -> None:
    for tool in TOOLS:
        register_tool(tool)
