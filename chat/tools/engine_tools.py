"""The first tools: look at the engine's tasks and workers, create a task, cancel one.

Arguments that name something are checked against what exists before a call runs (or
waits for approval): a task kind no worker can run and no executor handles, a task the
owner cannot see. The model hears what does exist, so that it can correct itself instead
of making a task that never runs.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from chat.tools.registry import Tool, ToolContext, ToolError, register_tool
from engine.models import Task, TaskQuerySet, TaskSource, TaskState, Worker
from engine.services import EngineError, TaskKinds, cancel_task, create_task, task_kinds
from engine.services.history import system_actor, user_actor
from routing.models import ToolPermission

LIST_LIMIT = 20
HISTORY_LIMIT = 20


def _task_row(task: Task) -> dict[str, Any]:
    return {
        "id": task.pk,
        "title": task.title,
        "kind": task.kind,
        "state": task.state,
        "priority": task.priority,
        "attempts": task.attempts,
        "worker": task.lease_worker.name if task.lease_worker else None,
        "created_at": task.created_at.isoformat(),
    }


def _owner(context: ToolContext) -> User | None:
    if context.owner_id is None:
        return None
    return User.objects.filter(pk=context.owner_id).first()


def _acting_owner(context: ToolContext) -> User:
    owner = _owner(context)
    if owner is None:
        raise ToolError("the session's owner no longer exists; nobody to act for")
    return owner


def _visible_tasks(context: ToolContext) -> TaskQuerySet:
    """The agent sees what its session's owner may see on the Engine page; in a session
    the system started (no owner, staff only), what staff see."""
    if context.by_system:
        return Task.objects.all()
    owner = _owner(context)
    return Task.objects.visible_to(owner) if owner else Task.objects.none()


def _actor(context: ToolContext) -> str:
    if context.by_system:
        return system_actor(f"chat-{context.session_id}")
    return user_actor(_owner(context))


def list_tasks(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    tasks = _visible_tasks(context).for_listing()
    if arguments.get("state"):
        tasks = tasks.filter(state=arguments["state"])
    if arguments.get("kind"):
        tasks = tasks.filter(kind=arguments["kind"])
    limit = int(arguments.get("limit") or LIST_LIMIT)
    rows = [_task_row(task) for task in tasks[:limit]]
    # Counted over what the owner may see: other people's tasks are not even a number here.
    counts = _visible_tasks(context).counts_by_state()
    return {"count": len(rows), "counts_by_state": counts, "tasks": rows}


def inspect_task(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    task = (
        _visible_tasks(context)
        .select_related("lease_worker")
        .filter(pk=arguments["task_id"])
        .first()
    )
    if task is None:
        raise ToolError(f"task {arguments['task_id']} does not exist")
    events = task.events.order_by("-created_at", "-id")[:HISTORY_LIMIT]
    return {
        **_task_row(task),
        "payload": task.payload,
        "result": task.result,
        "last_error": task.last_error,
        "approval_reason": task.approval_reason,
        "history": [
            {
                "from": event.from_state,
                "to": event.to_state,
                "actor": event.actor,
                "note": event.note,
                "at": event.created_at.isoformat(),
            }
            for event in reversed(list(events))
        ],
    }


def list_workers(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    workers = Worker.objects.with_running_count().order_by("name")[:LIST_LIMIT]
    return {
        "workers": [
            {
                "name": worker.name,
                "state": worker.state,
                "capabilities": worker.capabilities,
                "running": worker.running_count,  # type: ignore[attr-defined]
                "max_concurrency": worker.max_concurrency,
                "last_heartbeat_at": (
                    worker.last_heartbeat_at.isoformat() if worker.last_heartbeat_at else None
                ),
            }
            for worker in workers
        ]
    }


def _kind_problems(
    kind: str, *, known: TaskKinds, existing: TaskQuerySet | None = None
) -> list[str]:
    if kind in known or (existing is not None and existing.filter(kind=kind).exists()):
        return []
    return [
        f"kind: no worker can run {kind!r} and no executor is registered for it; "
        f"the kinds that exist: {known.describe()}"
    ]


def _task_problems(context: ToolContext, task_id: int) -> list[str]:
    if _visible_tasks(context).filter(pk=task_id).exists():
        return []
    newest = list(_visible_tasks(context).order_by("-id").values_list("id", flat=True)[:5])
    shown = ", ".join(f"#{pk}" for pk in newest) or "none"
    return [
        f"task_id: no task #{task_id} that this session may see; the newest it may: "
        f"{shown} (list_tasks finds others)"
    ]


def check_create_task(context: ToolContext, arguments: dict[str, Any]) -> list[str]:
    return _kind_problems(str(arguments["kind"]), known=task_kinds())


def check_list_tasks(context: ToolContext, arguments: dict[str, Any]) -> list[str]:
    # A kind no task has had and nothing can run is a guess, not a filter.
    if not arguments.get("kind"):
        return []
    return _kind_problems(
        str(arguments["kind"]), known=task_kinds(), existing=_visible_tasks(context)
    )


def check_task_id(context: ToolContext, arguments: dict[str, Any]) -> list[str]:
    return _task_problems(context, int(arguments["task_id"]))


def create_engine_task(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    problems = check_create_task(context, arguments)  # also when called outside a run
    if problems:
        raise ToolError("; ".join(problems))
    created = create_task(
        title=arguments["title"],
        kind=arguments["kind"],
        payload=arguments.get("payload") or {},
        priority=int(arguments.get("priority", 50)),
        source=TaskSource.CHAT,
        source_ref=f"chat:{context.session_id}",
        created_by=_owner(context),
        actor=_actor(context),
    )
    return {"created": created.created, **_task_row(created.task)}


def cancel_engine_task(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    # A task the owner may not see is not there for the agent either, approval or not.
    if not _visible_tasks(context).filter(pk=arguments["task_id"]).exists():
        raise ToolError(f"task {arguments['task_id']} does not exist")
    note = arguments.get("note") or f"cancelled from chat session {context.session_id}"
    try:
        if context.by_system:
            task = cancel_task(task_id=arguments["task_id"], actor=_actor(context), note=note)
        else:
            # The owner's permission, whoever approved the call: an approval lets the agent
            # act for its owner, never beyond them.
            task = cancel_task(task_id=arguments["task_id"], user=_acting_owner(context), note=note)
    except EngineError as exc:
        raise ToolError(str(exc)) from exc
    return _task_row(task)


TASK_ID = {"type": "integer", "minimum": 1, "description": "The task's id."}

ENGINE_TOOLS = (
    Tool(
        name="list_tasks",
        description="List engine tasks, newest first, with the count of tasks in each state. "
        "Filter by state or kind.",
        parameters={
            "type": "object",
            "properties": {
                "state": {"type": "string", "enum": list(TaskState.values)},
                "kind": {"type": "string", "maxLength": 100},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
            "additionalProperties": False,
        },
        function=list_tasks,
        check=check_list_tasks,
    ),
    Tool(
        name="inspect_task",
        description="Inspect one engine task: its state, payload, result, error and history.",
        parameters={
            "type": "object",
            "properties": {"task_id": TASK_ID},
            "required": ["task_id"],
            "additionalProperties": False,
        },
        function=inspect_task,
        polling=True,
        check=check_task_id,
    ),
    Tool(
        name="list_workers",
        description="List the workers: state, capabilities, running tasks, last heartbeat.",
        parameters={"type": "object", "properties": {}, "additionalProperties": False},
        function=list_workers,
    ),
    Tool(
        name="create_task",
        description="Create an engine task for a worker to run. Its kind must be one a "
        "worker can run (list_workers shows their capabilities); an unknown kind is refused "
        "with the kinds that exist.",
        parameters={
            "type": "object",
            "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "kind": {"type": "string", "minLength": 1, "maxLength": 100},
                "priority": {"type": "integer", "minimum": -1000, "maximum": 1000},
                "payload": {"type": "object"},
            },
            "required": ["title", "kind"],
            "additionalProperties": False,
        },
        function=create_engine_task,
        permission=ToolPermission.WRITE,
        check=check_create_task,
    ),
    Tool(
        name="cancel_task",
        description="Cancel an unfinished engine task (needs a human's approval).",
        parameters={
            "type": "object",
            "properties": {"task_id": TASK_ID, "note": {"type": "string", "maxLength": 500}},
            "required": ["task_id"],
            "additionalProperties": False,
        },
        function=cancel_engine_task,
        permission=ToolPermission.DANGEROUS,
        check=check_task_id,
    ),
)


def register() -> None:
    for tool in ENGINE_TOOLS:
        register_tool(tool)
