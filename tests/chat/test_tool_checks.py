"""Tools check what their arguments name against what exists, before a call runs or waits for
approval, and answer with what does exist: a task that can never run is never made."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat.models import ToolExecution
from chat.stop_reasons import StopReason
from chat.tools import ToolContext, tools
from engine.models import Task, TaskSource, TaskState
from engine.services import create_task, task_kinds
from tests.chat.conftest import make_session, run_turn
from tests.chat.scripted import Reply
from tests.factories import WorkerFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]

SENTENCE = "restart the billing service"


def tool_result(session: Any, call: str) -> str:
    message = session.messages.get(role="tool", tool_call_id=call)
    return str(message.content)


def kinds_named(text: str) -> set[str]:
    """The kinds a refusal lists, in order (other apps register kinds of their own)."""
    listed = text.split("the kinds that exist: ", 1)[1].split(" (", 1)[0].split(", ")
    assert listed == sorted(listed)
    return set(listed)


def test_a_task_kind_nothing_can_run_is_refused_naming_the_kinds_that_exist(user: Any) -> None:
    session = make_session(user)
    sentence_as_kind = Reply(calls=[("create_task", {"title": SENTENCE, "kind": SENTENCE})])
    then_a_real_one = Reply(calls=[("create_task", {"title": "say hi", "kind": "echo"})])

    reason, provider = run_turn(session, SENTENCE, [sentence_as_kind, then_a_real_one])

    assert reason == StopReason.COMPLETED
    refused = tool_result(session, "call_1_0")
    assert refused.startswith(f"error: invalid arguments: kind: no worker can run {SENTENCE!r}")
    assert {"agent", "echo", "sleep"} <= kinds_named(refused)
    assert not Task.objects.filter(kind=SENTENCE).exists(), "no task that can never run"
    (made,) = Task.objects.filter(kind="echo")
    assert made.title == "say hi"
    failed = ToolExecution.objects.get(session=session, call_id="call_1_0")
    assert failed.state == "failed" and "kinds that exist" in failed.error
    assert "kinds that exist" in json.dumps(provider.requests[1].messages), "the model heard it"


def test_a_kind_a_registered_worker_can_run_is_accepted() -> None:
    WorkerFactory(name="deployer", capabilities=["deploy"], state="offline")  # a remote one
    create = tools.get("create_task")
    assert create is not None
    context = ToolContext(session_id=1, owner_id=None, mode="ops")

    assert "deploy" in task_kinds()
    assert create.problems(context, {"title": "ship it", "kind": "deploy"}) == []
    assert create.problems(context, {"title": "x", "kind": "nope"})[0].startswith(
        "kind: no worker can run 'nope'"
    )
    with pytest.raises(Exception, match="no worker can run 'nope'"):
        create.function(context, {"title": "x", "kind": "nope"})


def test_a_dangerous_call_naming_no_task_is_refused_before_anyone_is_asked(user: Any) -> None:
    session = make_session(user)
    mine = create_task(title="mine", kind="echo", created_by=user).task

    reason, _ = run_turn(session, "cancel it", [Reply(calls=[("cancel_task", {"task_id": 999})])])

    assert reason == StopReason.COMPLETED, "no approval was requested"
    assert not Task.objects.filter(state=TaskState.WAITING_APPROVAL).exists()
    refused = tool_result(session, "call_1_0")
    assert f"task_id: no task #999 that this session may see; the newest it may: #{mine.pk}" in (
        refused
    )


def test_listing_by_a_kind_that_never_existed_says_which_do(user: Any) -> None:
    create_task(title="old", kind="legacy", created_by=user)  # no worker runs it any more
    context = ToolContext(session_id=1, owner_id=user.pk, mode="ops")
    listing = tools.get("list_tasks")
    assert listing is not None

    assert listing.problems(context, {"kind": "legacy"}) == [], "its tasks exist"
    assert listing.problems(context, {"kind": "echo"}) == []
    (problem,) = listing.problems(context, {"kind": "billing"})
    assert {"agent", "echo", "sleep"} <= kinds_named(problem)


def test_inspecting_another_users_task_is_refused_like_a_missing_one(user: Any, other: Any) -> None:
    theirs = create_task(title="theirs", kind="echo", created_by=other, source=TaskSource.CHAT).task
    inspect = tools.get("inspect_task")
    assert inspect is not None
    context = ToolContext(session_id=1, owner_id=user.pk, mode="ops")

    (problem,) = inspect.problems(context, {"task_id": theirs.pk})

    assert problem.startswith(f"task_id: no task #{theirs.pk} that this session may see")
    assert "theirs" not in problem
