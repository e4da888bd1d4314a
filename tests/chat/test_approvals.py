"""A dangerous tool waits for a human; approving or rejecting resumes the run on a worker."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import (
    ACTIVE_STATES,
    ChatEvent,
    ChatMessage,
    ExecutionState,
    SessionState,
    ToolExecution,
)
from chat.services import post_message, stop_run
from chat.stop_reasons import StopReason
from chat.tools import Tool, ToolContext, tools
from engine.models import Task, TaskState
from engine.services import NotAllowed, approve_task, reject_task, request_approval
from engine.services.history import system_actor
from engine.worker import WorkerLoop
from routing.models import Policy
from tests.chat.conftest import Calls, make_session, run_turn
from tests.chat.scripted import Reply
from tests.factories import WorkerFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


def ask_for_zap(user: Any) -> tuple[Any, ToolExecution]:
    session = make_session(user, mode="ops")
    reason, _ = run_turn(session, "zap it", [Reply(calls=[("zap", {"text": "prod"})])])
    assert reason == StopReason.AWAITING_APPROVAL
    return session, ToolExecution.objects.get(session=session)


def test_a_dangerous_call_waits_on_an_engine_task(user: Any, test_tools: Calls) -> None:
    session, execution = ask_for_zap(user)

    task = execution.approval_task
    assert task is not None and task.state == TaskState.WAITING_APPROVAL
    assert task.kind == "agent" and task.payload["session"] == session.pk
    assert "zap" in task.approval_reason and "prod" in task.approval_reason
    assert test_tools.seen == [], "nothing ran before the decision"
    session.refresh_from_db()
    assert (session.state, session.stop_reason) == ("awaiting_approval", "awaiting_approval")
    requested = ChatEvent.objects.get(session=session, type="approval.requested")
    assert requested.data["task_id"] == task.pk


def test_the_owner_may_not_approve_their_own_agents_dangerous_call(
    user: Any, test_tools: Calls
) -> None:
    session, execution = ask_for_zap(user)
    task = execution.approval_task
    assert task is not None and task.dangerous

    with pytest.raises(NotAllowed, match=r"engine\.approve_dangerous_task"):
        approve_task(task_id=task.pk, user=user)

    assert test_tools.seen == []
    session.refresh_from_db()
    assert session.state == SessionState.AWAITING_APPROVAL


def test_with_four_eyes_not_even_a_superuser_approves_their_own_agents_call(
    staff: Any, test_tools: Calls, settings: Any
) -> None:
    settings.FOUR_EYES = True
    _, execution = ask_for_zap(staff)
    task = execution.approval_task
    assert task is not None

    with pytest.raises(NotAllowed, match="four eyes"):
        approve_task(task_id=task.pk, user=staff)
    task.refresh_from_db()
    assert task.state == TaskState.WAITING_APPROVAL


def test_a_call_its_tool_refuses_for_this_owner_asks_nobody_for_approval(
    user: Any, test_tools: Calls
) -> None:
    session = make_session(user, mode="ops")

    reason, _ = run_turn(
        session, "zap it", [Reply(calls=[("zap_for_staff", {"text": "prod"})]), Reply("ok")]
    )

    assert reason == StopReason.COMPLETED
    execution = ToolExecution.objects.get(session=session)
    assert (execution.state, execution.error) == (ExecutionState.FAILED, "only staff may zap")
    assert execution.approval_task is None
    assert not Task.objects.filter(state=TaskState.WAITING_APPROVAL).exists()
    assert not ChatEvent.objects.filter(session=session, type="approval.requested").exists()
    assert test_tools.seen == []
    told = ChatMessage.objects.get(session=session, role="tool")
    assert told.content == "error: only staff may zap"


def test_the_approval_task_may_run_as_long_as_the_run_may(user: Any, test_tools: Calls) -> None:
    """Approved, the task carries the rest of the run: the stuck detector must not requeue it
    (a second worker would run the same session) before the time budget ends the run."""
    session = make_session(user, mode="ops", max_seconds=3600)
    run_turn(session, "zap it", [Reply(calls=[("zap", {"text": "prod"})])])

    task = ToolExecution.objects.get(session=session).approval_task
    assert task is not None
    assert task.timeout_seconds >= 3600


def test_approving_resumes_the_run_on_a_worker(user: Any, staff: Any, test_tools: Calls) -> None:
    session, execution = ask_for_zap(user)
    task = execution.approval_task
    assert task is not None

    approve_task(task_id=task.pk, user=staff)

    session.refresh_from_db()
    assert session.state == SessionState.QUEUED
    assert WorkerLoop(worker=WorkerFactory(capabilities=["agent"])).run_once() is True
    execution.refresh_from_db()
    assert execution.state == ExecutionState.SUCCEEDED
    assert test_tools.seen == [{"text": "prod"}]
    session.refresh_from_db()
    assert (session.state, session.stop_reason) == ("idle", "completed")
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.result["stop_reason"] == "completed"
    decided = ChatEvent.objects.get(session=session, type="approval.decided")
    assert decided.data == {"task_id": task.pk, "decision": "approved", "by": "olga"}


def guarded_zap(allowed: list[bool], test_tools: Calls) -> Tool:
    def zap(context: ToolContext, arguments: dict[str, Any]) -> Any:
        test_tools.seen.append(arguments)
        return "zapped"

    def refusal(context: ToolContext) -> str | None:
        if allowed == ["broken"]:
            raise RuntimeError("the permission store is down")
        return None if allowed[0] else "zapping was taken away from this owner"

    text = {"type": "object", "properties": {"text": {"type": "string"}}}
    return Tool("guarded_zap", "Dangerous.", text, zap, permission="dangerous", refusal=refusal)


def test_an_approved_call_whose_owner_lost_the_right_meanwhile_does_not_run(
    user: Any, staff: Any, test_tools: Calls
) -> None:
    allowed = [True]
    tool = guarded_zap(allowed, test_tools)
    tools.register(tool, replace=True)
    try:
        session = make_session(user, mode="ops")
        reason, _ = run_turn(session, "zap it", [Reply(calls=[("guarded_zap", {"text": "x"})])])
        assert reason == StopReason.AWAITING_APPROVAL
        execution = ToolExecution.objects.get(session=session)
        assert execution.approval_task is not None

        allowed[0] = False
        approve_task(task_id=execution.approval_task.pk, user=staff)
        assert WorkerLoop(worker=WorkerFactory(capabilities=["agent"])).run_once() is True
    finally:
        tools.unregister(tool.name)

    execution.refresh_from_db()
    assert execution.state == ExecutionState.FAILED
    assert execution.error == "zapping was taken away from this owner"
    assert test_tools.seen == []


def test_an_approved_call_whose_mode_lost_the_permission_meanwhile_does_not_run(
    user: Any, staff: Any, test_tools: Calls
) -> None:
    _, execution = ask_for_zap(user)
    assert execution.approval_task is not None
    policy = Policy.objects.get(mode="ops")
    policy.tool_permissions = [p for p in policy.tool_permissions if p != "dangerous"]
    policy.save()

    approve_task(task_id=execution.approval_task.pk, user=staff)
    assert WorkerLoop(worker=WorkerFactory(capabilities=["agent"])).run_once() is True

    execution.refresh_from_db()
    assert (execution.state, execution.error) == (
        ExecutionState.FAILED,
        "the ops mode no longer allows the tool 'zap'",
    )
    assert test_tools.seen == []


def test_a_refusal_check_that_fails_refuses_the_call_not_the_run(
    user: Any, test_tools: Calls
) -> None:
    tool = guarded_zap(["broken"], test_tools)
    tools.register(tool, replace=True)
    try:
        session = make_session(user, mode="ops")
        reason, _ = run_turn(
            session, "zap it", [Reply(calls=[("guarded_zap", {"text": "x"})]), Reply("ok")]
        )
    finally:
        tools.unregister(tool.name)

    assert reason == StopReason.COMPLETED
    execution = ToolExecution.objects.get(session=session)
    assert execution.state == ExecutionState.FAILED
    assert "could not check whether this call is allowed" in execution.error
    assert execution.approval_task is None


def test_rejecting_resumes_the_run_with_the_refusal(
    user: Any, staff: Any, test_tools: Calls
) -> None:
    session, execution = ask_for_zap(user)
    assert execution.approval_task is not None

    reject_task(task_id=execution.approval_task.pk, user=staff, note="not today")

    session.refresh_from_db()
    assert session.state == SessionState.QUEUED
    continuation = Task.objects.get(pk=session.current_task_id)
    assert continuation.state == TaskState.PENDING and continuation.pk != execution.approval_task.pk
    assert WorkerLoop(worker=WorkerFactory(capabilities=["agent"])).run_once() is True
    execution.refresh_from_db()
    assert execution.state == ExecutionState.REJECTED
    assert test_tools.seen == []
    result = ChatMessage.objects.get(session=session, role="tool")
    assert "olga rejected this call" in result.content
    session.refresh_from_db()
    assert session.stop_reason == "completed"


def test_stopping_withdraws_the_approval_request(user: Any, test_tools: Calls) -> None:
    session, execution = ask_for_zap(user)

    stop_run(session_id=session.pk, user=user)

    execution.refresh_from_db()
    assert execution.state == ExecutionState.CANCELLED
    assert execution.approval_task is not None
    assert execution.approval_task.state == TaskState.CANCELLED
    session.refresh_from_db()
    assert (session.state, session.stop_reason) == ("stopped", "user_stopped")


def test_an_agent_task_without_a_session_gets_one(user: Any) -> None:
    from engine.services import create_task

    task = create_task(
        title="Fix recurring error",
        kind="agent",
        payload={"instructions": "list tasks that failed", "pattern": {"text": "boom"}},
        created_by=user,
    ).task

    assert WorkerLoop(worker=WorkerFactory(capabilities=["agent"])).run_once() is True

    task.refresh_from_db()
    assert task.state == TaskState.DONE
    from chat.models import ChatSession

    session = ChatSession.objects.get(origin_task=task)
    assert (session.owner, session.mode, session.stop_reason) == (user, "ops", "completed")
    first = session.messages.order_by("id").first()
    assert first is not None and first.content.startswith("list tasks that failed")
    assert '"pattern"' in first.content


def run_task_sent_to_a_human(user: Any) -> tuple[Any, Task]:
    """A queued run whose task the unblock rules sent to a human (no worker can run it)."""
    session = make_session(user, mode="ops")
    post_message(session_id=session.pk, user=user, content="hello")
    session.refresh_from_db()
    task = session.current_task
    assert task is not None and session.state == SessionState.QUEUED
    request_approval(task_id=task.pk, reason="no online worker can run it", actor=system_actor("x"))
    return session, task


def assert_ended_by_rejecting(session: Any, task: Task) -> None:
    session.refresh_from_db()
    assert session.state not in ACTIVE_STATES
    assert (session.stop_reason, session.stop_detail) == (
        StopReason.USER_STOPPED,
        f"olga rejected the run's task #{task.pk}",
    )


def test_rejecting_a_run_task_a_human_was_asked_about_ends_the_run(user: Any, staff: Any) -> None:
    """The unblock rules send a run task no worker can run to a human; rejecting it ends the
    run instead of leaving the session queued behind a task that will never run."""
    session, task = run_task_sent_to_a_human(user)

    reject_task(task_id=task.pk, user=staff)

    assert_ended_by_rejecting(session, task)
    assert ChatEvent.objects.filter(session=session, type="run.stopped").exists()


def test_approving_a_run_task_a_human_was_asked_about_queues_it_again(
    user: Any, staff: Any
) -> None:
    session, task = run_task_sent_to_a_human(user)

    approve_task(task_id=task.pk, user=staff)

    session.refresh_from_db()
    task.refresh_from_db()
    assert (session.state, session.current_task_id) == (SessionState.QUEUED, task.pk)
    assert task.state == TaskState.PENDING


def test_rejecting_an_approved_call_sent_to_a_human_again_ends_the_run(
    user: Any, staff: Any, test_tools: Calls
) -> None:
    """Approved, the call's task carries the run; no worker could run it, so the unblock
    rules asked a human again, who rejected it. The run ends instead of staying queued
    behind a cancelled task; the next run tells the model the call was rejected."""
    session, execution = ask_for_zap(user)
    task = execution.approval_task
    assert task is not None
    approve_task(task_id=task.pk, user=staff)
    request_approval(
        task_id=task.pk, reason="no worker with capability agent", actor=system_actor("x")
    )

    reject_task(task_id=task.pk, user=staff)

    assert_ended_by_rejecting(session, task)
    assert test_tools.seen == []
