"""The streams against a real Daphne, on the in-memory and the Redis channel layer, with a
real websocket client: live streaming, resume without gap or duplicate, who may watch."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import connections
from django.test import Client

from chat.services import create_session, post_message, publish
from chat.services.loop import AgentLoop
from engine.models import ApiToken
from engine.services import create_api_token
from tests.chat.conftest import make_session
from tests.chat.live import Daphne, channel_layers, layer_settings, stream

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("routing_defaults"),
]


@pytest.fixture(scope="module", params=channel_layers())
def daphne(request: pytest.FixtureRequest, django_db_setup: Any) -> Iterator[Daphne]:
    server = Daphne(layer=request.param)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def same_layer(daphne: Daphne, settings: Any) -> None:
    """This process publishes on the layer the server listens on."""
    settings.CHANNEL_LAYERS = layer_settings(daphne.layer, daphne.prefix)


def cookie_headers(daphne: Daphne, user: Any) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return {"Cookie": f"{name}={client.cookies[name].value}", "Origin": daphne.http}


def token_headers(daphne: Daphne, user: Any) -> dict[str, str]:
    _, token = create_api_token(user=user)
    return {"Authorization": f"Token {token}", "Origin": daphne.http}


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]


def is_last_of_run(event: dict[str, Any]) -> bool:
    return event["type"] == "session.status" and event["data"]["state"] in {
        "idle",
        "stopped",
        "error",
    }


def publish_n(session_id: int, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        publish(session_id, "error", {"message": f"event {i}", "code": "test"})


def test_a_run_streams_live_in_order(daphne: Daphne, user: Any) -> None:
    session = make_session(user, mode="ops")
    url = f"{daphne.ws}/ws/chat/{session.pk}/?after=0"
    with stream(url, cookie_headers(daphne, user)) as client:
        assert client.connected
        post_message(session_id=session.pk, user=user, content="list tasks", queue=False)
        AgentLoop(session.pk).run()

        events = client.collect(is_last_of_run)

    assert seqs(events) == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    for expected in (
        "message.user",
        "run.started",
        "tool.started",
        "tool.finished",
        "message.delta",
        "message.done",
        "run.stopped",
    ):
        assert expected in types
    assert all(e["v"] == 1 and e["session"] == session.pk for e in events)
    assert events[-2]["data"]["reason"] == "completed"


def test_reconnecting_resumes_without_gap_or_duplicate(daphne: Daphne, user: Any) -> None:
    session = make_session(user)  # seq 1: session.created
    headers = cookie_headers(daphne, user)
    with stream(f"{daphne.ws}/ws/chat/{session.pk}/?after=0", headers) as first:
        publish_n(session.pk, 9)
        seen = first.collect(lambda e: e["seq"] == 10)
    assert seqs(seen) == list(range(1, 11))

    publish_n(session.pk, 10, start=9)  # while nobody listens

    def keep_publishing() -> None:
        try:
            publish_n(session.pk, 60, start=19)
        finally:
            connections.close_all()

    publisher = threading.Thread(target=keep_publishing)
    publisher.start()  # and while the client reconnects and replays
    with stream(f"{daphne.ws}/ws/chat/{session.pk}/?after=10", headers) as second:
        resumed = second.collect(lambda e: e["seq"] == 80)
    publisher.join()

    assert seqs(resumed) == list(range(11, 81))


def test_without_after_only_new_events_come(daphne: Daphne, user: Any) -> None:
    session = make_session(user)
    publish_n(session.pk, 3)  # seqs 2 to 4, after session.created
    with stream(f"{daphne.ws}/ws/chat/{session.pk}/", cookie_headers(daphne, user)) as client:
        client.next_ping()
        publish_n(session.pk, 1, start=3)
        assert seqs(client.collect(lambda e: True)) == [5]


def test_a_lost_event_is_read_back_from_the_database(
    daphne: Daphne, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = make_session(user)
    with stream(
        f"{daphne.ws}/ws/chat/{session.pk}/?after=1", cookie_headers(daphne, user)
    ) as client:
        publish_n(session.pk, 1)  # seq 2; seq 1 is session.created
        with monkeypatch.context() as patch:
            patch.setattr("chat.services.publisher.send_to_group", lambda group, message: None)
            publish_n(session.pk, 2, start=1)  # stored, never sent: as if the layer dropped them
        publish_n(session.pk, 1, start=3)
        assert seqs(client.collect(lambda e: e["seq"] == 5)) == [2, 3, 4, 5]

        with monkeypatch.context() as patch:
            patch.setattr("chat.services.publisher.send_to_group", lambda group, message: None)
            publish_n(session.pk, 1, start=4)  # a lost tail: nothing comes after it
        tail = client.collect(lambda e: e["seq"] == 6)
        assert seqs(tail) == [6], "the heartbeat noticed and filled it"
        assert client.next_ping()["data"]["last_seq"] == 6


def test_another_user_and_strangers_are_refused(daphne: Daphne, user: Any, other: Any) -> None:
    session = make_session(user)
    url = f"{daphne.ws}/ws/chat/{session.pk}/?after=0"

    with stream(url, cookie_headers(daphne, other)) as intruder:
        intruder.done.wait(5)
    with stream(url, {"Origin": daphne.http}) as anonymous:
        anonymous.done.wait(5)
    with stream(
        f"{daphne.ws}/ws/chat/{session.pk + 999}/", cookie_headers(daphne, user)
    ) as missing:
        missing.done.wait(5)

    assert (intruder.status, anonymous.status, missing.status) == (403, 403, 403)


def test_staff_may_watch_any_session(daphne: Daphne, user: Any, staff: Any) -> None:
    session = make_session(user)
    with stream(
        f"{daphne.ws}/ws/chat/{session.pk}/?after=0", cookie_headers(daphne, staff)
    ) as client:
        publish_n(session.pk, 1)
        assert seqs(client.collect(lambda e: e["type"] == "error")) == [1, 2]


def test_a_token_client_is_let_in_and_loses_the_stream_when_revoked(
    daphne: Daphne, user: Any
) -> None:
    session = make_session(user)
    headers = token_headers(daphne, user)
    with stream(f"{daphne.ws}/ws/chat/{session.pk}/?after=0", headers) as client:
        publish_n(session.pk, 1)
        assert seqs(client.collect(lambda e: e["type"] == "error")) == [1, 2]

        ApiToken.objects.update(revoked=True)
        client.send({"type": "ping"})  # authorization is checked on every message
        client.done.wait(5)

    assert client.close_code == 4403
    with stream(f"{daphne.ws}/ws/chat/{session.pk}/", headers) as again:
        again.done.wait(5)
    assert again.status == 403


def test_a_token_client_needs_an_allowed_origin(daphne: Daphne, user: Any) -> None:
    session = make_session(user)
    headers = token_headers(daphne, user)
    with stream(
        f"{daphne.ws}/ws/chat/{session.pk}/", {"Authorization": headers["Authorization"]}
    ) as bare:
        bare.done.wait(5)
    with stream(
        f"{daphne.ws}/ws/chat/{session.pk}/", {**headers, "Origin": "https://evil.example"}
    ) as evil:
        evil.done.wait(5)
    assert (bare.status, evil.status) == (403, 403)


def test_the_operator_stream_shows_each_user_their_sessions(
    daphne: Daphne, user: Any, other: Any, staff: Any
) -> None:
    mine, theirs = make_session(user), make_session(other)
    with (
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, user)) as alice,
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, staff)) as olga,
    ):
        alice.next_ping()
        olga.next_ping()
        publish(
            theirs.pk,
            "session.status",
            {"state": "thinking", "label": "Thinking", "mode": "ops", "detail": ""},
        )
        publish(mine.pk, "message.user", {"message_id": 1, "content": "not an ops event"})
        publish(
            mine.pk,
            "session.status",
            {"state": "thinking", "label": "Thinking", "mode": "ops", "detail": ""},
        )

        got_alice = alice.collect(lambda e: e["session"] == mine.pk)
        got_olga = olga.collect(lambda e: e["session"] == mine.pk)

    assert [(e["session"], e["type"]) for e in got_alice] == [(mine.pk, "session.status")]
    assert [(e["session"], e["type"]) for e in got_olga] == [
        (theirs.pk, "session.status"),
        (mine.pk, "session.status"),
    ]


def test_new_sessions_and_their_titles_reach_only_who_may_see_them(
    daphne: Daphne, user: Any, other: Any, staff: Any
) -> None:
    with (
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, user)) as alice,
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, staff)) as olga,
    ):
        alice.next_ping()
        olga.next_ping()
        theirs = create_session(owner=other, mode="code", title="mallory's secret plan")
        post_message(session_id=theirs.pk, user=other, content="more secrets", queue=True)
        mine = create_session(owner=user, mode="ops")
        post_message(session_id=mine.pk, user=user, content="rotate the logs", queue=True)

        got_alice = alice.collect(lambda e: e["type"] == "session.status")
        got_olga = olga.collect(lambda e: e["session"] == mine.pk and e["type"] == "session.status")

    assert [(e["session"], e["type"]) for e in got_alice] == [
        (mine.pk, "session.created"),
        (mine.pk, "session.status"),
    ]
    assert "secret" not in json.dumps(got_alice), "another user's titles never reach alice"
    created, status = got_alice
    assert created["data"] == {"title": "", "mode": "ops", "state": "idle", "label": "Idle"}
    assert (status["data"]["title"], status["data"]["state"]) == ("rotate the logs", "queued")
    assert [(e["session"], e["type"]) for e in got_olga] == [
        (theirs.pk, "session.created"),
        (theirs.pk, "session.status"),
        (mine.pk, "session.created"),
        (mine.pk, "session.status"),
    ], "staff see every session"
    assert got_olga[1]["data"]["title"] == "mallory's secret plan"


def test_anonymous_ops_stream_is_refused(daphne: Daphne) -> None:
    with stream(f"{daphne.ws}/ws/ops/", {"Origin": daphne.http}) as anonymous:
        anonymous.done.wait(5)
    assert anonymous.status == 403


def test_session_event_stream_sends_the_run_as_server_sent_events(
    daphne: Daphne, user: Any
) -> None:
    session = make_session(user, mode="ops")
    headers = token_headers(daphne, user)
    post_message(session_id=session.pk, user=user, content="list workers", queue=False)
    AgentLoop(session.pk).run()

    response = requests.get(
        f"{daphne.http}/api/chat/sessions/{session.pk}/stream/?after=0",
        headers={"Authorization": headers["Authorization"]},
        stream=True,
        timeout=15,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    ids, types = [], []
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("id: "):
            ids.append(int(line[4:]))
        elif line.startswith("event: "):
            types.append(line[7:])
    session.refresh_from_db()
    assert ids == list(range(1, session.last_seq + 1)), "the whole log, then it ends"
    assert "run.stopped" in types

    denied = requests.get(f"{daphne.http}/api/chat/sessions/{session.pk}/stream/", timeout=5)
    assert denied.status_code == 401


def follow(daphne: Daphne, session: Any, headers: dict[str, str]) -> requests.Response:
    response = requests.get(
        f"{daphne.http}/api/chat/sessions/{session.pk}/stream/?after=0&follow=1",
        headers=headers,
        stream=True,
        timeout=(5, 5),  # the keep-alive comes every 15 s: a stream that lives on times out
    )
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("credential", ["token", "cookie"])
def test_a_followed_session_event_stream_ends_when_access_does(
    daphne: Daphne, user: Any, credential: str
) -> None:
    """Checked again every heartbeat (1 s here), as the websocket is."""
    session = make_session(user)
    if credential == "token":
        headers = {"Authorization": token_headers(daphne, user)["Authorization"]}
    else:
        headers = {"Cookie": cookie_headers(daphne, user)["Cookie"]}
    lines = follow(daphne, session, headers).iter_lines(decode_unicode=True)
    assert next(lines) == ": stream open"

    if credential == "token":
        ApiToken.objects.update(revoked=True)
    else:
        Session.objects.all().delete()  # the browser's login ended elsewhere
    publish_n(session.pk, 1)

    assert ": access ended" in list(lines)
