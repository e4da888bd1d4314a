"""Honest outcomes for every agent task: a run that could not reach a model fails the
attempt, so the engine retries it (resuming the same session), instead of ending `done`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from chat.models import ChatSession
from engine.models import TaskState
from engine.services import create_task
from engine.worker import WorkerLoop
from routing.models import Policy
from tests.factories import WorkerFactory
from tests.routing.conftest import API_KEY

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


def test_an_unreachable_model_fails_the_attempt_and_the_retry_resumes_the_session(
    settings: Any,
) -> None:
    settings.ROUTING_PROVIDER = "openrouter"
    settings.OPENROUTER_API_KEY = API_KEY
    settings.OPENROUTER_BASE_URL = "http://127.0.0.1:9/api/v1"  # nothing listens there
    settings.ROUTING_MAX_RETRIES = 0
    Policy.objects.update(max_retries=1)  # one wait of a second inside the run
    task = create_task(title="check the queue", kind="agent", payload={"mode": "ops"}).task
    loop = WorkerLoop(worker=WorkerFactory(capabilities=["agent"]))

    assert loop.run_once() is True
    task.refresh_from_db()
    assert (task.state, task.attempts) == (TaskState.PENDING, 1)
    assert "could not be reached" in task.last_error
    session = ChatSession.objects.get(origin_task=task)
    assert session.stop_reason == "retry_budget"

    with time_machine.travel(task.run_after + timedelta(seconds=1)):
        assert loop.run_once() is True
    task.refresh_from_db()
    assert (task.state, task.attempts) == (TaskState.PENDING, 2)
    assert session.events.filter(type="run.started").count() == 2, "the retry ran the session"
