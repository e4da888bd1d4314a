"""`session_event_stream` without `follow`: a replay goes to the end of the session's log, not
to the first `run.stopped` in it; while a run is under way it goes on until that run stops."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from chat.api.stream import event_stream
from chat.models import ChatSession, SessionState
from chat.services import publish
from chat.services.runs import finish_run
from chat.stop_reasons import StopReason, explain
from tests.chat.conftest import make_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


def seqs(chunks: list[str]) -> list[int]:
    return [int(chunk.split("\n", 1)[0][4:]) for chunk in chunks if chunk.startswith("id: ")]


def replay(session_id: int, after: int, *, limit: float = 5) -> list[str]:
    async def read() -> list[str]:
        try:
            stream = event_stream(session_id, after, follow=False)
            return await asyncio.wait_for(_collect(stream), timeout=limit)
        finally:
            await database_sync_to_async(connections.close_all)()

    return asyncio.run(read())


async def _collect(stream: Any) -> list[str]:
    return [chunk async for chunk in stream]


def a_finished_run(session: ChatSession, run: int) -> None:
    publish(session.pk, "run.started", {"run": run, "resumed": False})
    publish(session.pk, "run.stopped", explain(StopReason.COMPLETED))
    publish(session.pk, "message.user", {"message_id": run, "content": f"after run {run}"})


def test_a_replay_of_three_finished_runs_goes_to_the_end_of_the_log(user: Any) -> None:
    session = make_session(user)
    for run in (1, 2, 3):
        a_finished_run(session, run)
    session.refresh_from_db()

    chunks = replay(session.pk, 0)

    assert seqs(chunks) == list(range(1, session.last_seq + 1))
    assert sum("event: run.stopped" in chunk for chunk in chunks) == 3
    assert seqs(replay(session.pk, 4)) == list(range(5, session.last_seq + 1)), "from a seq"


def test_a_replay_while_a_run_is_under_way_ends_when_that_run_stops(user: Any) -> None:
    session = make_session(user)
    a_finished_run(session, 1)  # an earlier run's run.stopped does not end the stream
    ChatSession.objects.filter(pk=session.pk).update(state=SessionState.THINKING)
    publish(session.pk, "run.started", {"run": 2, "resumed": False})

    def finish_later() -> None:
        time.sleep(0.5)
        publish(session.pk, "message.delta", {"step": 1, "text": "live"})
        finish_run(session.pk, StopReason.COMPLETED)
        connections.close_all()

    finisher = threading.Thread(target=finish_later)
    finisher.start()
    chunks = replay(session.pk, 0)
    finisher.join()

    types = [chunk.split("\n")[1][7:] for chunk in chunks if chunk.startswith("id: ")]
    assert types[:5] == [
        "session.created",
        "run.started",
        "run.stopped",
        "message.user",
        "run.started",
    ]
    assert "message.delta" in types, "the live events came after the stored ones"
    assert types[-1] == "run.stopped" and types.count("run.stopped") == 2
