"""Agent runs on the built-in worker, as `make run` starts it: a real `run_worker` process
with no `--concurrency`, a model served over HTTP by a stand-in OpenRouter on 127.0.0.1.

With one thread, a trivial chat waited behind another user's answer, and an agent that
made a task and polled it never saw it run: its own run held the only thread.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chat.models import ChatSession
from chat.services import post_message
from engine.models import Task, TaskState
from tests.chat.conftest import make_session
from tests.engine.test_concurrent_claims import logs, start_worker, wait_for
from tests.routing.conftest import API_KEY
from tests.routing.fake_openrouter import FakeOpenRouter, Recorded, Reply, streamed

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("routing_defaults"),
]

Respond = Callable[[dict[str, Any]], Reply]


class RespondingModel(FakeOpenRouter):
    """The stand-in OpenRouter, answering each call by what it was asked."""

    def __init__(self, respond: Respond) -> None:
        super().__init__()
        self.respond = respond
        self._asked = threading.local()

    def record(self, request: Recorded) -> None:
        super().record(request)
        self._asked.body = request.body  # the handler asks next_reply next, on this thread

    def next_reply(self, *, stream: bool = False) -> Reply:
        return self.respond(self._asked.body)


def said(text: str, body: dict[str, Any]) -> Reply:
    return streamed([text], model=body["model"])


def calls(name: str, arguments: dict[str, Any], body: dict[str, Any]) -> Reply:
    step = len(body["messages"])
    call = {"id": f"call_{step}", "name": name, "arguments": json.dumps(arguments)}
    return streamed(model=body["model"], tool_calls=[call])


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Callable[[FakeOpenRouter], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(model: FakeOpenRouter) -> subprocess.Popen[bytes]:
        # What the supervisor behind `make run` starts: no --concurrency.
        process = start_worker(
            "builtin",
            tmp_path,
            ROUTING_PROVIDER="openrouter",
            OPENROUTER_API_KEY=API_KEY,
            OPENROUTER_BASE_URL=model.base_url,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


@pytest.fixture
def model_server() -> Iterator[Callable[[Respond], RespondingModel]]:
    servers: list[RespondingModel] = []

    def serve(respond: Respond) -> RespondingModel:
        server = RespondingModel(respond).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


def state(session: ChatSession) -> str:
    return ChatSession.objects.values_list("state", flat=True).get(pk=session.pk)


def test_two_agent_runs_progress_at_once(
    user: Any, other: Any, worker: Any, model_server: Any, tmp_path: Path
) -> None:
    both_asking = threading.Barrier(2)
    overlapped: list[bool] = []

    def respond(body: dict[str, Any]) -> Reply:
        # Each answer waits, mid-call, until the other run is asking too: with one thread
        # the second run never asks while the first waits, and the barrier times out.
        try:
            both_asking.wait(timeout=30)
            overlapped.append(True)
        except threading.BrokenBarrierError:
            overlapped.append(False)
        return said("Here is your answer.", body)

    model = model_server(respond)
    process = worker(model)
    sessions = [make_session(user), make_session(other)]
    for session in sessions:
        post_message(session_id=session.pk, user=session.owner, content="a trivial question")

    wait_for(
        lambda: all(state(s) == "idle" for s in sessions),
        seconds=90,
        what="both chats to be answered",
        log_dir=tmp_path,
        running=[process],
    )

    assert overlapped == [True, True], logs(tmp_path)
    for session in sessions:
        assert session.messages.filter(role="assistant").last().content == "Here is your answer."


def test_an_agent_that_makes_an_echo_task_and_waits_sees_it_done(
    user: Any, worker: Any, model_server: Any, tmp_path: Path
) -> None:
    def respond(body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]
        if last["role"] != "tool":
            arguments = {"title": "say hello", "kind": "echo", "payload": {"text": "hello"}}
            return calls("create_task", arguments, body)
        task = json.loads(last["content"])
        if task.get("state") != "done":
            return calls("inspect_task", {"task_id": task["id"]}, body)
        return said(f"Task #{task['id']} is done: {json.dumps(task['result'])}", body)

    model = model_server(respond)
    process = worker(model)
    session = make_session(user, max_steps=40)
    post_message(session_id=session.pk, user=user, content="make an echo task and wait for it")

    wait_for(
        lambda: state(session) in {"idle", "stopped", "error"},
        seconds=90,
        what="the agent's run to end",
        log_dir=tmp_path,
        running=[process],
    )

    session.refresh_from_db()
    assert (session.state, session.stop_reason) == ("idle", "completed"), logs(tmp_path)
    echo = Task.objects.get(kind="echo")
    assert echo.state == TaskState.DONE
    answer = session.messages.filter(role="assistant").last()
    assert answer.content.startswith(f"Task #{echo.pk} is done: ")
    assert "hello" in answer.content
