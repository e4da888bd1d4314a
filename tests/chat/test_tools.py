from __future__ import annotations

from typing import Any

import pytest
from jsonschema.exceptions import SchemaError

from chat.tools import Tool, ToolContext, ToolError, ToolRegistry, tools
from chat.tools.schema import check_schema, validation_errors
from engine.models import Task, TaskState
from engine.services import create_task
from tests.factories import WorkerFactory

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 5},
        "count": {"type": "integer", "minimum": 1, "maximum": 3},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "ratio": {"type": "number"},
    },
    "required": ["name"],
    "additionalProperties": False,
}


def test_valid_arguments_pass() -> None:
    args = {"name": "ok", "count": 2, "mode": "a", "flag": True, "tags": ["x"], "ratio": 0.5}
    assert validation_errors(args, SCHEMA) == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({}, "arguments: 'name' is a required property"),
        ({"name": ""}, "arguments.name: '' should be non-empty"),
        ({"name": "toolong"}, "arguments.name: 'toolong' is too long"),
        ({"name": "x", "count": True}, "arguments.count: True is not of type 'integer'"),
        ({"name": "x", "count": 9}, "arguments.count: 9 is greater than the maximum of 3"),
        ({"name": "x", "mode": "c"}, "arguments.mode: 'c' is not one of ['a', 'b']"),
        ({"name": "x", "tags": ["a", 1]}, "arguments.tags[1]: 1 is not of type 'string'"),
        ({"name": "x", "tags": ["a", "b", "c"]}, "arguments.tags: ['a', 'b', 'c'] is too long"),
        ({"name": "x", "other": 1}, "('other' was unexpected)"),
        ([], "arguments: [] is not of type 'object'"),
    ],
)
def test_each_problem_is_named(args: Any, error: str) -> None:
    assert any(error in line for line in validation_errors(args, SCHEMA))


def test_every_problem_is_named_at_once() -> None:
    assert len(validation_errors({"name": "", "count": 9, "other": 1}, SCHEMA)) == 3


def test_a_schema_that_is_not_valid_is_refused() -> None:
    with pytest.raises(SchemaError):
        check_schema({"type": "object", "properties": {"x": {"type": "text"}}})


def noop(context: ToolContext, arguments: dict[str, Any]) -> Any:
    return None


def test_the_registry_refuses_duplicates_and_bad_declarations() -> None:
    registry = ToolRegistry()
    registry.register(Tool("t", "d", {"type": "object"}, noop))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Tool("t", "other", {"type": "object"}, noop))
    with pytest.raises(ValueError, match="permission"):
        registry.register(Tool("u", "d", {"type": "object"}, noop, permission="root"))
    with pytest.raises(ValueError, match="unknown modes"):
        registry.register(Tool("v", "d", {"type": "object"}, noop, modes=("chaos",)))
    with pytest.raises(ValueError, match="type object"):
        registry.register(Tool("w", "d", {"type": "string"}, noop))


def test_a_mode_sees_the_tools_it_and_its_policy_allow() -> None:
    registry = ToolRegistry()
    registry.register(Tool("read", "d", {"type": "object"}, noop))
    registry.register(Tool("write", "d", {"type": "object"}, noop, permission="write"))
    registry.register(
        Tool("danger", "d", {"type": "object"}, noop, permission="dangerous", modes=("ops",))
    )

    names = [t.name for t in registry.available(mode="ops", permissions=["read", "dangerous"])]
    assert names == ["danger", "read"]
    assert [t.name for t in registry.available(mode="code", permissions=["read", "dangerous"])] == [
        "read"
    ]


def test_the_engine_tools_are_registered() -> None:
    registered = {t.name: t for t in tools.all()}
    assert {"list_tasks", "inspect_task", "list_workers", "create_task", "cancel_task"} <= set(
        registered
    )
    assert registered["create_task"].permission == "write"
    assert registered["cancel_task"].dangerous
    assert registered["inspect_task"].polling


@pytest.mark.django_db
def test_the_engine_tools_read_and_change_the_engine(user: Any) -> None:
    context = ToolContext(session_id=7, owner_id=user.pk, mode="ops")
    task = create_task(title="t", kind="echo").task
    WorkerFactory(name="w1")

    listed = tools.get("list_tasks").function(context, {"state": "pending"})  # type: ignore[union-attr]
    assert listed["tasks"][0]["id"] == task.pk and listed["counts_by_state"]["pending"] == 1
    inspected = tools.get("inspect_task").function(context, {"task_id": task.pk})  # type: ignore[union-attr]
    assert inspected["history"][0]["to"] == "pending"
    workers = tools.get("list_workers").function(context, {})  # type: ignore[union-attr]
    assert workers["workers"][0]["name"] == "w1"
    created = tools.get("create_task").function(context, {"title": "new", "kind": "echo"})  # type: ignore[union-attr]
    made = Task.objects.get(pk=created["id"])
    assert (made.created_by, made.source, made.source_ref) == (user, "chat", "chat:7")
    tools.get("cancel_task").function(context, {"task_id": made.pk})  # type: ignore[union-attr]
    made.refresh_from_db()
    assert made.state == TaskState.CANCELLED


@pytest.mark.django_db
def test_the_agent_cancels_only_what_its_owner_may_decide(user: Any) -> None:
    """An approval lets the agent act for its owner, never beyond: a plain owner's agent may
    not cancel the system's tasks (nor other people's)."""
    context = ToolContext(session_id=7, owner_id=user.pk, mode="ops")
    system_task = create_task(title="nightly", kind="echo").task
    cancel = tools.get("cancel_task")
    assert cancel is not None

    with pytest.raises(ToolError, match=r"engine\.decide_others_task"):
        cancel.function(context, {"task_id": system_task.pk})
    system_task.refresh_from_db()
    assert system_task.state == TaskState.PENDING


@pytest.mark.django_db
def test_the_agent_sees_only_what_its_owner_may_see(django_user_model) -> None:
    from chat.tools import ToolContext, tools
    from engine.models import TaskSource
    from engine.services import create_task

    alice = django_user_model.objects.create_user(username="alice2", password="pw-a-12345")
    bob = django_user_model.objects.create_user(username="bob2", password="pw-b-12345")
    private = create_task(
        title="Chat #9: alice's secret", kind="agent", source=TaskSource.CHAT, created_by=alice
    ).task
    list_tool, inspect_tool = tools.get("list_tasks"), tools.get("inspect_task")
    assert list_tool is not None and inspect_tool is not None
    bobs = ToolContext(session_id=1, owner_id=bob.pk, mode="ops")

    listed = list_tool.function(bobs, {})

    assert private.pk not in {row["id"] for row in listed["tasks"]}
    assert listed["counts_by_state"]["pending"] == 0, "not even counted"
    with pytest.raises(Exception, match="does not exist"):
        inspect_tool.function(bobs, {"task_id": private.pk})
    cancel_tool = tools.get("cancel_task")
    assert cancel_tool is not None
    with pytest.raises(Exception, match="does not exist"):
        cancel_tool.function(bobs, {"task_id": private.pk})
    private.refresh_from_db()
    assert private.state == "pending", "an approved call still cannot reach a hidden task"
