from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engine.models import ApiToken, JobLock, Task, TaskState, WorkerState
from engine.services import (
    TaskRouter,
    create_api_token,
    create_task,
    register_worker,
    request_approval,
)
from tests.factories import TaskFactory, WorkerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_olga(client: Client, staff: Any) -> Client:
    client.force_login(staff)
    return client


def waiting_task(title: str = "needs a yes") -> Task:
    task = create_task(title=title, kind="agent").task
    return request_approval(task_id=task.pk, reason="risky", actor="system:test")


def run_action(client: Client, model: str, action: str, pks: list[int]) -> list[str]:
    response = client.post(
        reverse(f"admin:engine_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
    )
    assert response.status_code == 302, "an admin action redirects back to the changelist"
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("model", ["task", "worker", "taskevent", "apitoken", "joblock"])
def test_changelists_render_for_a_superuser(
    admin_client_olga: Client, staff: Any, model: str
) -> None:
    waiting_task()
    WorkerFactory(last_heartbeat_at=timezone.now() - timedelta(hours=1))
    TaskFactory(state=TaskState.RUNNING, lease_worker=WorkerFactory())
    create_api_token(user=staff, name="ci")
    JobLock.objects.create(name="stuck-detector", holder="host-1", expires_at=timezone.now())

    response = admin_client_olga.get(reverse(f"admin:engine_{model}_changelist"))

    assert response.status_code == 200


def test_changelists_filter_and_search(admin_client_olga: Client) -> None:
    waiting_task("restart db")
    url = reverse("admin:engine_task_changelist")
    assert admin_client_olga.get(url, {"state__exact": "waiting_approval"}).status_code == 200
    response = admin_client_olga.get(url, {"q": "restart"})
    assert b"restart db" in response.content


def test_task_change_page_shows_history_read_only(admin_client_olga: Client) -> None:
    task = waiting_task()

    response = admin_client_olga.get(reverse("admin:engine_task_change", args=[task.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "system:test" in html
    assert 'name="events-0-actor"' not in html, "history is shown, never edited"
    assert 'name="state"' not in html, "state changes only through the services"
    assert reverse("engine:task", args=[task.pk]) in html, "links to the task page"


def test_tasks_cannot_be_added_in_the_admin(admin_client_olga: Client) -> None:
    assert admin_client_olga.get(reverse("admin:engine_task_add")).status_code == 403


def test_task_events_are_read_only(admin_client_olga: Client) -> None:
    task = waiting_task()
    event = task.events.first()
    assert event is not None
    assert admin_client_olga.get(reverse("admin:engine_taskevent_add")).status_code == 403
    change = admin_client_olga.get(reverse("admin:engine_taskevent_change", args=[event.pk]))
    assert change.status_code == 200
    assert 'name="actor"' not in change.content.decode()
    delete = admin_client_olga.get(reverse("admin:engine_taskevent_delete", args=[event.pk]))
    assert delete.status_code == 403


def test_approve_action_reports_successes_and_refusals(
    admin_client_olga: Client, staff: Any
) -> None:
    waiting = waiting_task()
    done = TaskFactory(state=TaskState.DONE)

    notes = run_action(admin_client_olga, "task", "approve_selected", [waiting.pk, done.pk])

    waiting.refresh_from_db()
    done.refresh_from_db()
    assert waiting.state == TaskState.PENDING
    assert waiting.decided_by == staff
    assert done.state == TaskState.DONE
    assert any(f"Approved 1: #{waiting.pk}" in n for n in notes)
    assert any(f"Refused 1: #{done.pk}" in n for n in notes)


def test_requeue_action_retries_failed_tasks(admin_client_olga: Client) -> None:
    failed = TaskFactory(state=TaskState.FAILED, attempts=3)
    running = TaskFactory(state=TaskState.RUNNING)

    notes = run_action(admin_client_olga, "task", "requeue_selected", [failed.pk, running.pk])

    failed.refresh_from_db()
    running.refresh_from_db()
    assert failed.state == TaskState.PENDING
    assert failed.attempts == 0
    assert failed.events.last().actor == "user:olga"  # type: ignore[union-attr]
    assert running.state == TaskState.RUNNING
    assert any("Requeued 1" in n for n in notes)
    assert any("Refused 1" in n for n in notes)


def test_cancel_action_cancels_unfinished_tasks(admin_client_olga: Client) -> None:
    pending = create_task(title="p", kind="echo").task
    cancelled = TaskFactory(state=TaskState.CANCELLED)

    notes = run_action(admin_client_olga, "task", "cancel_selected", [pending.pk, cancelled.pk])

    pending.refresh_from_db()
    assert pending.state == TaskState.CANCELLED
    assert any("Cancelled 1" in n for n in notes)
    assert any("already cancelled" in n for n in notes)


def test_worker_admin_never_shows_the_token_hash(admin_client_olga: Client) -> None:
    registered = register_worker(name="edge-1", capabilities=["echo", "agent"])
    worker = registered.worker

    listing = admin_client_olga.get(reverse("admin:engine_worker_changelist")).content.decode()
    change = admin_client_olga.get(
        reverse("admin:engine_worker_change", args=[worker.pk])
    ).content.decode()

    assert "echo, agent" in listing or "agent, echo" in listing
    for html in (listing, change):
        assert worker.token_hash not in html
        assert registered.token not in html
        assert "token_hash" not in html


def test_worker_admin_flags_late_heartbeats(admin_client_olga: Client, settings: Any) -> None:
    settings.ENGINE_HEARTBEAT_GRACE_SECONDS = 60
    WorkerFactory(name="quiet", last_heartbeat_at=timezone.now() - timedelta(minutes=30))

    html = admin_client_olga.get(reverse("admin:engine_worker_changelist")).content.decode()

    assert "(late)" in html


def test_worker_drain_action(admin_client_olga: Client) -> None:
    worker = WorkerFactory()
    run_action(admin_client_olga, "worker", "drain_selected", [worker.pk])
    worker.refresh_from_db()
    assert worker.state == WorkerState.DRAINING


def test_worker_mark_offline_action_frees_its_tasks_with_the_operator_in_history(
    admin_client_olga: Client,
) -> None:
    worker = WorkerFactory()
    create_task(title="t", kind="echo")
    task = TaskRouter().claim(worker)
    assert task is not None

    notes = run_action(admin_client_olga, "worker", "mark_offline_selected", [worker.pk])

    worker.refresh_from_db()
    task.refresh_from_db()
    assert worker.state == WorkerState.OFFLINE
    assert task.state == TaskState.PENDING and task.lease_worker is None
    assert task.events.order_by("id").last().actor == "user:olga"  # type: ignore[union-attr]
    assert any(f"#{task.pk}" in n for n in notes)


def test_api_token_admin_hides_the_hash_and_revokes(admin_client_olga: Client, staff: Any) -> None:
    row, raw = create_api_token(user=staff, name="laptop")

    listing = admin_client_olga.get(reverse("admin:engine_apitoken_changelist")).content.decode()
    change = admin_client_olga.get(
        reverse("admin:engine_apitoken_change", args=[row.pk])
    ).content.decode()
    for html in (listing, change):
        assert row.token_hash not in html
        assert raw not in html
    assert row.prefix in listing

    notes = run_action(admin_client_olga, "apitoken", "revoke_selected", [row.pk])

    assert ApiToken.objects.get(pk=row.pk).revoked is True
    assert any("Revoked 1" in n for n in notes)


def test_job_locks_are_read_only(admin_client_olga: Client) -> None:
    lock = JobLock.objects.create(name="sweep", holder="h", expires_at=timezone.now())
    assert admin_client_olga.get(reverse("admin:engine_joblock_add")).status_code == 403
    change = admin_client_olga.get(reverse("admin:engine_joblock_change", args=[lock.pk]))
    assert change.status_code == 200
    assert 'name="holder"' not in change.content.decode()


def test_non_staff_cannot_use_the_admin(client: Client, user: Any) -> None:
    client.force_login(user)
    response = client.get(reverse("admin:engine_task_changelist"))
    assert response.status_code == 302


def test_saving_a_task_in_the_admin_keeps_a_claim_made_meanwhile(client, staff) -> None:
    from unittest import mock

    from engine.admin import TaskAdmin
    from engine.services import TaskRouter, create_task
    from tests.factories import WorkerFactory

    task = create_task(title="t", kind="echo", priority=10).task
    worker = WorkerFactory()
    client.force_login(staff)
    form_url = f"/admin/engine/task/{task.pk}/change/"
    original_get_object = TaskAdmin.get_object

    def get_object_then_claim(self, *args, **kwargs):
        loaded = original_get_object(self, *args, **kwargs)
        TaskRouter().claim(worker)  # a worker claims it while the admin holds the old row
        return loaded

    with mock.patch.object(TaskAdmin, "get_object", get_object_then_claim):
        response = client.post(
            form_url,
            {
                "title": "t",
                "priority": 90,
                "max_attempts": 3,
                "timeout_seconds": 300,
                "events-TOTAL_FORMS": 0,
                "events-INITIAL_FORMS": 0,
                "events-MIN_NUM_FORMS": 0,
                "events-MAX_NUM_FORMS": 0,
            },
        )

    assert response.status_code == 302, response.content[:2000]
    task.refresh_from_db()
    assert task.priority == 90
    assert task.state == "running" and task.lease_worker == worker


def test_reject_action_rejects_waiting_tasks(admin_client_olga: Client) -> None:
    from engine.models import ApprovalDecision
    from engine.services import request_approval

    waiting = create_task(title="w", kind="deploy").task
    request_approval(task_id=waiting.pk, reason="no worker", actor="system:test")
    pending = create_task(title="p", kind="echo").task

    notes = run_action(admin_client_olga, "task", "reject_selected", [waiting.pk, pending.pk])

    waiting.refresh_from_db()
    assert waiting.state == TaskState.CANCELLED
    assert waiting.approval_decision == ApprovalDecision.REJECTED
    assert any("Rejected 1" in n for n in notes)
    assert any("Refused 1" in n for n in notes)
