"""Who may decide on tasks (issue 14, Medium 4), written as the plain user would try it:
approve an ops task, cancel or retry other people's tasks, approve their own agent's
dangerous tool call; and the roles and four eyes that replace "any signed-in user"."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from engine.models import Task, TaskSource, TaskState
from engine.services import (
    approve_task,
    cancel_task,
    create_task,
    reject_task,
    request_approval,
)
from tests.factories import UserFactory, api_client_for

pytestmark = pytest.mark.django_db


def in_role(user: Any, *roles: str) -> Any:
    """`user` in these groups; a fresh copy, since permissions are cached on the instance."""
    user.groups.add(*Group.objects.filter(name__in=roles))
    return type(user).objects.get(pk=user.pk)


def waiting(title: str, kind: str, **fields: Any) -> Task:
    task = create_task(title=title, kind=kind, **fields).task
    if task.state != TaskState.WAITING_APPROVAL:
        request_approval(task_id=task.pk, reason="needs a human", actor="system:test")
    task.refresh_from_db()
    return task


def restart_payments() -> Task:
    """The demo's ops task, made by the system and waiting for a human."""
    return waiting("Restart the payment service", "ops.restart", payload={"service": "payments"})


def own_dangerous_call(owner: Any) -> Task:
    """What chat makes when the owner's agent asks for a dangerous tool."""
    return waiting(
        "Approve zap for chat #1",
        "agent",
        source=TaskSource.CHAT,
        source_ref="chat:1",
        created_by=owner,
        dangerous=True,
    )


# --- The plain user's attacks ---------------------------------------------------------------


def test_a_plain_user_may_not_approve_an_ops_task(user: Any) -> None:
    task = restart_payments()

    response = api_client_for(user).post(f"/api/tasks/{task.pk}/approve/", {}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert "engine.decide_others_task" in response.json()["detail"]
    task.refresh_from_db()
    assert task.state == TaskState.WAITING_APPROVAL and task.decided_by is None


@pytest.mark.parametrize("action", ["cancel", "retry", "reject", "approve"])
def test_a_plain_user_may_not_decide_another_users_task(user: Any, staff: Any, action: str) -> None:
    state = {"retry": TaskState.FAILED}.get(action, TaskState.WAITING_APPROVAL)
    task = waiting("admin's nightly report", "echo", created_by=staff)
    Task.objects.filter(pk=task.pk).update(state=state)

    response = api_client_for(user).post(f"/api/tasks/{task.pk}/{action}/", {}, format="json")

    assert response.status_code == 403, response.content
    task.refresh_from_db()
    assert task.state == state
    assert task.events.count() == 2, "no history row for a refused decision"


def test_the_engine_page_refuses_too_and_offers_no_button(client: Client, user: Any) -> None:
    task = restart_payments()
    client.force_login(user)

    page = client.get(reverse("engine:task", args=[task.pk])).content.decode()
    overview = client.get(reverse("engine:page")).content.decode()
    response = client.post(reverse("engine:approve", args=[task.pk]), follow=True)

    assert 'data-action="approve"' not in page
    assert 'data-action="approve"' not in overview and "not yours to decide" in overview
    assert "engine.decide_others_task" in response.content.decode()
    task.refresh_from_db()
    assert task.state == TaskState.WAITING_APPROVAL


def test_a_plain_user_may_not_approve_their_own_agents_dangerous_call(user: Any) -> None:
    task = own_dangerous_call(user)
    api = api_client_for(user)

    approved = api.post(f"/api/tasks/{task.pk}/approve/", {}, format="json")

    assert approved.status_code == 403
    assert "engine.approve_dangerous_task" in approved.json()["detail"]
    task.refresh_from_db()
    assert task.state == TaskState.WAITING_APPROVAL
    rejected = api.post(f"/api/tasks/{task.pk}/reject/", {}, format="json")
    assert rejected.status_code == 200, "saying no to one's own agent is always allowed"


def test_an_ops_task_a_plain_user_creates_waits_for_approval(user: Any) -> None:
    response = api_client_for(user).post(
        "/api/tasks/", {"title": "restart it", "kind": "ops.restart"}, format="json"
    )

    assert response.status_code == 201
    task = Task.objects.get(pk=response.json()["id"])
    assert task.state == TaskState.WAITING_APPROVAL and task.dangerous
    assert "approve" in task.approval_reason
    assert list(task.events.values_list("from_state", "to_state")) == [("", "waiting_approval")]


def test_a_rejected_ops_task_is_not_run_by_retrying_it(user: Any) -> None:
    task = create_task(title="restart", kind="ops.restart", created_by=user).task
    reject_task(task_id=task.pk, user=user)

    response = api_client_for(user).post(f"/api/tasks/{task.pk}/retry/", {}, format="json")

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED


def test_approving_may_not_reroute_a_task_to_an_ops_kind_without_the_permission(user: Any) -> None:
    task = waiting("stranded", "render", created_by=user)

    response = api_client_for(user).post(
        f"/api/tasks/{task.pk}/approve/", {"reroute_kind": "ops.restart"}, format="json"
    )

    assert response.status_code == 403
    task.refresh_from_db()
    assert (task.state, task.kind) == (TaskState.WAITING_APPROVAL, "render")


def test_a_staff_member_without_a_role_may_not_decide_in_the_admin(client: Client) -> None:
    task = restart_payments()
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(
        Permission.objects.get(content_type__app_label="engine", codename="view_task")
    )
    client.force_login(clerk)

    client.post(
        reverse("admin:engine_task_changelist"),
        {"action": "approve_selected", "_selected_action": [task.pk]},
    )

    task.refresh_from_db()
    assert task.state == TaskState.WAITING_APPROVAL


# --- What the roles may do --------------------------------------------------------------


def test_anyone_decides_their_own_routine_tasks(user: Any) -> None:
    mine = waiting("stranded", "render", created_by=user)

    assert approve_task(task_id=mine.pk, user=user).state == TaskState.PENDING
    assert cancel_task(task_id=mine.pk, user=user).state == TaskState.CANCELLED


def test_an_operator_decides_others_routine_tasks_but_not_dangerous_ones(user: Any) -> None:
    operator = in_role(UserFactory(), "operator")
    routine = waiting("render", "render", created_by=user)
    ops = restart_payments()

    assert approve_task(task_id=routine.pk, user=operator).state == TaskState.PENDING
    with pytest.raises(Exception, match=r"engine\.approve_dangerous_task"):
        approve_task(task_id=ops.pk, user=operator)
    assert reject_task(task_id=ops.pk, user=operator).state == TaskState.CANCELLED


def test_an_approver_approves_dangerous_tasks_and_sees_other_peoples_chat_tasks(
    user: Any,
) -> None:
    approver = in_role(UserFactory(), "approver")
    call = own_dangerous_call(user)

    assert Task.objects.visible_to(approver).filter(pk=call.pk).exists()
    assert not Task.objects.visible_to(UserFactory()).filter(pk=call.pk).exists()
    assert approve_task(task_id=call.pk, user=approver).state == TaskState.PENDING


def test_without_four_eyes_an_approver_approves_what_they_asked_for(user: Any) -> None:
    approver = in_role(user, "approver")
    call = own_dangerous_call(approver)

    assert approve_task(task_id=call.pk, user=approver).state == TaskState.PENDING


def test_with_four_eyes_nobody_approves_what_they_asked_for(
    user: Any, staff: Any, settings: Any
) -> None:
    settings.FOUR_EYES = True
    approver = in_role(user, "approver")
    mine, admins = own_dangerous_call(approver), own_dangerous_call(staff)

    with pytest.raises(Exception, match="four eyes"):
        approve_task(task_id=mine.pk, user=approver)
    with pytest.raises(Exception, match="four eyes"):
        approve_task(task_id=admins.pk, user=staff)  # a superuser too
    assert approve_task(task_id=admins.pk, user=approver).state == TaskState.PENDING
    assert approve_task(task_id=mine.pk, user=staff).state == TaskState.PENDING


def test_with_four_eyes_even_an_approvers_own_ops_task_waits(user: Any, settings: Any) -> None:
    settings.FOUR_EYES = True
    approver = in_role(user, "approver")

    task = create_task(title="restart", kind="ops.restart", created_by=approver).task

    assert task.state == TaskState.WAITING_APPROVAL
    settings.FOUR_EYES = False
    other = create_task(title="restart 2", kind="ops.restart", created_by=approver).task
    assert other.state == TaskState.PENDING, "one who may approve it need not ask themselves"


def test_the_roles_hold_the_permissions_the_docs_give_them() -> None:
    def held(role: str) -> set[str]:
        permissions = Group.objects.get(name=role).permissions.select_related("content_type")
        return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}

    acting = {
        "engine.decide_others_task",
        "engine.approve_dangerous_task",
        "engine.change_worker",
        "selfheal.run_repair",
        "selfheal.revert_execution",
        "logcrawler.mute_fingerprint",
        "logcrawler.resolve_fingerprint",
        "logcrawler.crawl_logsource",
        "logcrawler.change_logsource",
        "routing.change_policy",
    }
    assert held("viewer") & acting == set()
    assert "engine.view_task" in held("viewer")
    assert held("operator") & acting == {
        "engine.decide_others_task",
        "selfheal.run_repair",
        "selfheal.revert_execution",
        "logcrawler.mute_fingerprint",
        "logcrawler.resolve_fingerprint",
        "logcrawler.crawl_logsource",
    }
    assert held("approver") & acting == {
        "engine.decide_others_task",
        "engine.approve_dangerous_task",
    }
    assert held("admin") >= acting
