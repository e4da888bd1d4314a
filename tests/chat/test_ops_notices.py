"""Operator notices against a real Daphne with a real websocket client: every signed-in user
on /ws/ops/ receives them exactly once, whoever owns what, from any process (with Redis
through the layer, in memory through the database relay)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client

from chat.services import publish_ops_notice
from tests.chat.live import Daphne, channel_layers, layer_settings, stream
from tests.chat.notice_asgi import NOTICE_PATH

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

ALERT = {
    "alert": 7,
    "title": "payment gateway timed out",
    "severity": "high",
    "fingerprint": "abc123",
    "task": 3,
    "url": "/logs/fingerprints/abc123/",
}
SENTINEL = {**ALERT, "alert": 8, "title": "sentinel: sent after the first"}


@pytest.fixture(scope="module", params=channel_layers())
def daphne(request: pytest.FixtureRequest, django_db_setup: Any) -> Iterator[Daphne]:
    server = Daphne(layer=request.param, asgi="tests.chat.notice_asgi:application")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def same_layer(daphne: Daphne, settings: Any) -> None:
    settings.CHANNEL_LAYERS = layer_settings(daphne.layer, daphne.prefix)


def cookie_headers(daphne: Daphne, user: Any) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return {"Cookie": f"{name}={client.cookies[name].value}", "Origin": daphne.http}


def is_notice(event: dict[str, Any]) -> bool:
    return event["type"] == "ops.notice"


def notices_until(client: Any, title: str) -> list[dict[str, Any]]:
    """Every notice up to the one titled `title`: a later sentinel shows no duplicate came."""
    events = client.collect(lambda event: is_notice(event) and event["data"]["title"] == title)
    return [event for event in events if is_notice(event)]


def post_notice(daphne: Daphne, data: dict[str, Any]) -> None:
    response = requests.post(
        daphne.http + NOTICE_PATH, json={"kind": "alert", "data": data}, timeout=10
    )
    assert response.status_code == 204


def test_a_notice_published_in_the_daphne_process_reaches_every_user_once(
    daphne: Daphne, user: Any, staff: Any
) -> None:
    with (
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, user)) as alice,
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, staff)) as olga,
    ):
        alice.next_ping()  # both have joined the group
        olga.next_ping()
        post_notice(daphne, ALERT)
        if daphne.layer == "memory":
            # Stored after the first, so the relay sends it after any copy of the first.
            publish_ops_notice("alert", SENTINEL)
        else:
            post_notice(daphne, SENTINEL)  # one publisher's sends keep their order

        for_alice = notices_until(alice, SENTINEL["title"])
        for_olga = notices_until(olga, SENTINEL["title"])

    assert [n["data"]["title"] for n in for_alice] == [ALERT["title"], SENTINEL["title"]]
    assert for_alice == for_olga
    first = for_alice[0]
    assert (first["v"], first["seq"], first["session"]) == (1, None, None)
    assert first["data"] == {"kind": "alert", **ALERT}
    assert first["ts"]


def test_a_notice_from_another_process_arrives_once(daphne: Daphne, user: Any) -> None:
    """With Redis the layer carries it; in memory, the notice table and the relay do."""
    with stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, user)) as client:
        client.next_ping()  # joined, and the relay (in memory) has taken its cursor
        publish_ops_notice("alert", ALERT)  # this test process, not Daphne's
        publish_ops_notice("alert", SENTINEL)
        notices = notices_until(client, SENTINEL["title"])

    assert [n["data"] for n in notices] == [
        {"kind": "alert", **ALERT},
        {"kind": "alert", **SENTINEL},
    ]
