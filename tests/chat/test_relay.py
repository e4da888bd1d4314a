"""The database relay against a real Daphne on the in-memory layer, events and notices
published by another process (this one, as by the worker) and read by a real websocket
client: woken by datagrams, the poll as the safety net, and what it costs while idle."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.db import connections

from chat.services import publish, publish_ops_notice
from engine.services import create_api_token
from tests.chat.conftest import make_session
from tests.chat.live import Daphne, StreamClient, layer_settings, stream
from tests.chat.relay_asgi import QUERIES_PATH

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

ASGI = "tests.chat.relay_asgi:application"
# No heartbeat within a test: it would fill a missing tail itself, hiding the relay.
QUIET = {"CHAT_WS_HEARTBEAT_SECONDS": "60"}
ALERT = {
    "alert": 1,
    "title": "disk full",
    "severity": "high",
    "fingerprint": "f",
    "task": None,
    "url": "/",
}


@pytest.fixture(scope="module")
def woken(django_db_setup: Any) -> Iterator[Daphne]:
    """Its relay polls once a minute: whatever arrives sooner, a wake-up brought."""
    server = Daphne(layer="memory", asgi=ASGI, extra_env={**QUIET, "CHAT_RELAY_POLL_MS": "60000"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def polled(django_db_setup: Any) -> Iterator[Daphne]:
    """Its relay polls every 300 ms, the safety net for a wake-up that never comes."""
    server = Daphne(layer="memory", asgi=ASGI, extra_env={**QUIET, "CHAT_RELAY_POLL_MS": "300"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def unwoken(django_db_setup: Any) -> Iterator[Daphne]:
    """Wake-ups off: its relay polls every 25 ms, as it did before them."""
    server = Daphne(layer="memory", asgi=ASGI, extra_env={**QUIET, "CHAT_RELAY_WAKE": "false"})
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def in_memory(settings: Any) -> None:
    """This process publishes as the worker does beside Daphne without Redis."""
    settings.CHANNEL_LAYERS = layer_settings("memory", "")


def headers(daphne: Daphne, user: Any) -> dict[str, str]:
    _, token = create_api_token(user=user)
    return {"Authorization": f"Token {token}", "Origin": daphne.http}


def joined(client: StreamClient) -> None:
    """The consumer answers a ping only once connected, its relay reading from then on."""
    client.send({"type": "ping"})
    client.next_ping()


def queries(daphne: Daphne) -> int:
    return int(requests.get(daphne.http + QUERIES_PATH, timeout=10).json()["queries"])


def idle_queries(daphne: Daphne, seconds: float) -> int:
    time.sleep(0.5)  # whatever the connect set off has finished
    before = queries(daphne)
    time.sleep(seconds)
    return queries(daphne) - before


def publish_n(session_id: int, n: int, pause: float = 0.0) -> None:
    for i in range(n):
        publish(session_id, "error", {"message": f"event {i}", "code": "test"})
        time.sleep(pause)


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]


def test_events_from_another_process_arrive_on_a_wake_up(woken: Daphne, user: Any) -> None:
    session = make_session(user)  # seq 1
    with stream(f"{woken.ws}/ws/chat/{session.pk}/?after=1", headers(woken, user)) as client:
        joined(client)
        publish_n(session.pk, 20, pause=0.02)
        events = client.collect(lambda e: e["seq"] == 21, timeout=20)

    assert seqs(events) == list(range(2, 22))


def test_a_notice_from_another_process_arrives_on_a_wake_up(woken: Daphne, user: Any) -> None:
    with stream(f"{woken.ws}/ws/ops/", headers(woken, user)) as client:
        joined(client)
        publish_ops_notice("alert", ALERT)
        notice = client.collect(lambda e: e["type"] == "ops.notice", timeout=20)[-1]

    assert notice["data"] == {"kind": "alert", **ALERT}


def test_an_idle_relay_reads_nothing_until_woken(woken: Daphne, user: Any) -> None:
    session = make_session(user)
    with stream(f"{woken.ws}/ws/chat/{session.pk}/?after=1", headers(woken, user)) as client:
        joined(client)
        idle = idle_queries(woken, 2)
        before = queries(woken)
        publish_n(session.pk, 1)
        client.collect(lambda e: e["seq"] == 2, timeout=20)
        reads = queries(woken) - before

    assert idle == 0
    assert reads == 1, "an events wake-up reads the events, not the notices too"


def test_a_reconnect_while_another_process_publishes_has_no_gap_or_duplicate(
    woken: Daphne, user: Any
) -> None:
    session = make_session(user)  # seq 1
    auth = headers(woken, user)

    def keep_publishing() -> None:
        try:
            publish_n(session.pk, 150, pause=0.005)
        finally:
            connections.close_all()

    with stream(f"{woken.ws}/ws/chat/{session.pk}/?after=1", auth) as first:
        joined(first)
        publisher = threading.Thread(target=keep_publishing)
        publisher.start()
        seen = first.collect(lambda e: e["seq"] >= 40, timeout=20)
    last = seen[-1]["seq"]
    with stream(f"{woken.ws}/ws/chat/{session.pk}/?after={last}", auth) as second:
        resumed = second.collect(lambda e: e["seq"] == 151, timeout=30)
    publisher.join()

    assert seqs(seen) == list(range(2, last + 1))
    assert seqs(resumed) == list(range(last + 1, 152))


def test_a_publisher_that_sends_no_wake_up_is_caught_by_the_poll(
    polled: Daphne, user: Any, settings: Any
) -> None:
    settings.CHAT_RELAY_WAKE = False  # this process wakes no relay
    session = make_session(user)
    with stream(f"{polled.ws}/ws/chat/{session.pk}/?after=1", headers(polled, user)) as client:
        joined(client)
        idle = idle_queries(polled, 2)
        publish_n(session.pk, 3)
        events = client.collect(lambda e: e["seq"] == 4, timeout=20)

    assert seqs(events) == [2, 3, 4]
    assert 2 <= idle <= 2 * (2 / 0.3) + 2, "two small reads a poll, no more"


def test_without_wake_ups_the_relay_polls(unwoken: Daphne, user: Any) -> None:
    session = make_session(user)
    with stream(f"{unwoken.ws}/ws/chat/{session.pk}/?after=1", headers(unwoken, user)) as client:
        joined(client)
        idle = idle_queries(unwoken, 1)
        publish_n(session.pk, 3)
        events = client.collect(lambda e: e["seq"] == 4, timeout=20)

    assert seqs(events) == [2, 3, 4]
    assert idle >= 10, "every 25 ms, two reads"
