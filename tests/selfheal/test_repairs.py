"""A repair asked for through an engine task: it waits for approval unless its creator may
approve it, runs as the person who approved it if they may repair, and tells the listener."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from engine.models import TaskState
from engine.services import approve_task
from engine.worker import WorkerLoop
from selfheal.models import PlaybookExecution
from selfheal.repairs import REPAIR_KIND, register_repair_listener, request_repair
from tests.factories import UserFactory, WorkerFactory

pytestmark = pytest.mark.django_db


def _run() -> None:
    loop = WorkerLoop(worker=WorkerFactory(capabilities=[REPAIR_KIND]))
    while loop.run_once(only=[REPAIR_KIND]):
        pass


def test_a_request_waits_then_runs_as_its_approver_and_tells_the_listener(staff: Any) -> None:
    heard: list[tuple[int, dict[str, Any]]] = []
    register_repair_listener(lambda execution, payload: heard.append((execution.pk, payload)))
    asker = UserFactory(username="bob")

    task = request_repair(user=asker, actor="user:bob", reason="stuck", context={"case": 3})
    assert task.state == TaskState.WAITING_APPROVAL
    assert task.dangerous
    _run()
    assert not PlaybookExecution.objects.exists()

    approve_task(task_id=task.pk, user=staff)
    _run()

    execution = PlaybookExecution.objects.get()
    assert execution.triggered_by == "user:olga"
    assert heard == [(execution.pk, {"case": 3, "reason": "stuck"})]
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    assert task.result == {"execution": execution.pk, "state": execution.state}


def test_the_systems_request_waits_too_and_an_approver_who_may_not_repair_runs_nothing() -> None:
    task = request_repair(user=None, actor="system:test", reason="stuck")
    assert task.state == TaskState.WAITING_APPROVAL, "nobody to run it as yet"
    approver = UserFactory(username="dana")
    approver.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["approve_dangerous_task", "decide_others_task"],
            content_type__app_label="engine",
        )
    )

    approve_task(task_id=task.pk, user=approver)
    _run()

    task.refresh_from_db()
    assert task.state == TaskState.FAILED
    assert "selfheal.run_repair" in task.last_error
    assert not PlaybookExecution.objects.exists()
