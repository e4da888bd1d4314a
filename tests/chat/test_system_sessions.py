"""A session with no owner was started by the system (a schedule, an alert, an agent task no
one created): only staff may open it, and its tools see what staff see."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from chat.auth import may_watch
from chat.executor import session_for_task
from chat.models import ChatSession, ToolExecution
from chat.services.loop import AgentLoop
from chat.services.runs import AGENT_KIND
from chat.stop_reasons import StopReason
from chat.tools import ToolContext, tools
from engine.executors import ExecutionContext
from engine.models import Task, TaskSource
from engine.services import create_api_token, create_task
from tests.chat.scripted import Reply, ScriptedProvider

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


def call(name: str, context: ToolContext, arguments: dict[str, Any]) -> Any:
    tool = tools.get(name)
    assert tool is not None
    return tool.function(context, arguments)


def someones_chat_task(owner: Any) -> Task:
    return create_task(
        title="Chat #3: a private conversation",
        kind=AGENT_KIND,
        source=TaskSource.CHAT,
        created_by=owner,
    ).task


def system_session_from_a_task() -> ChatSession:
    task = create_task(
        title="Nightly check", kind=AGENT_KIND, payload={"instructions": "look at the queue"}
    ).task
    context = ExecutionContext(task_id=task.pk, kind=AGENT_KIND, payload=task.payload, attempt=1)
    return ChatSession.objects.get(pk=session_for_task(context))


def test_an_agent_task_no_one_created_starts_a_session_with_no_owner() -> None:
    session = system_session_from_a_task()

    assert session.owner is None and session.owner_id is None


def test_its_tools_see_every_task_and_act_as_the_system(other: Any) -> None:
    hidden = someones_chat_task(other)
    system = ToolContext(session_id=5, owner_id=None, mode="ops")

    listed = call("list_tasks", system, {})
    inspected = call("inspect_task", system, {"task_id": hidden.pk})
    created = call("create_task", system, {"title": "follow-up", "kind": "echo"})
    cancelled = call("cancel_task", system, {"task_id": created["id"]})

    assert hidden.pk in {row["id"] for row in listed["tasks"]}
    assert listed["counts_by_state"]["pending"] == Task.objects.filter(state="pending").count()
    assert inspected["id"] == hidden.pk
    made = Task.objects.get(pk=created["id"])
    assert made.created_by is None
    assert list(made.events.values_list("to_state", "actor")) == [
        ("pending", "system:chat-5"),
        ("cancelled", "system:chat-5"),
    ]
    assert cancelled["state"] == "cancelled"


def test_a_run_of_a_system_session_lists_every_task(other: Any) -> None:
    hidden = someones_chat_task(other)
    session = system_session_from_a_task()
    provider = ScriptedProvider([Reply(calls=[("list_tasks", {})]), Reply(text="Seen.")])

    reason = AgentLoop(session.pk, task_id=session.current_task_id, provider=provider).run()

    assert reason == StopReason.COMPLETED
    execution = ToolExecution.objects.get(session=session, tool="list_tasks")
    assert f'"id": {hidden.pk}' in execution.output


def test_only_staff_may_open_it(user: Any, staff: Any) -> None:
    session = system_session_from_a_task()

    assert (may_watch(user, session.pk), may_watch(staff, session.pk)) == (False, True)
    for who, status in [(user, 404), (staff, 200)]:
        _, token = create_api_token(user=who)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api.get(f"/api/chat/sessions/{session.pk}/").status_code == status
        browser = Client()
        browser.force_login(who)
        assert browser.get(f"/chat/{session.pk}/").status_code == status
