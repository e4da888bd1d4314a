"""Operator notices against a real Daphne with a real websocket client: every signed-in user
on /ws/ops/ receives them, whoever owns what; with Redis, from any process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client

from chat.services import publish_ops_notice
from tests.chat.live import Daphne, layer_settings, redis_reachable, stream
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


def layers() -> list[Any]:
    redis = pytest.param(
        "redis", marks=pytest.mark.skipif(not redis_reachable(), reason="no Redis reachable")
    )
    return ["memory", redis]


@pytest.fixture(scope="module", params=layers())
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


def test_a_notice_published_in_the_daphne_process_reaches_every_user(
    daphne: Daphne, user: Any, staff: Any
) -> None:
    with (
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, user)) as alice,
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, staff)) as olga,
    ):
        alice.next_ping()  # both have joined the group
        olga.next_ping()
        response = requests.post(
            daphne.http + NOTICE_PATH, json={"kind": "alert", "data": ALERT}, timeout=10
        )
        assert response.status_code == 204

        (for_alice,) = alice.collect(is_notice)
        (for_olga,) = olga.collect(is_notice)

    assert for_alice == for_olga
    assert (for_alice["v"], for_alice["seq"], for_alice["session"]) == (1, None, None)
    assert for_alice["data"] == {"kind": "alert", **ALERT}
    assert for_alice["ts"]


def test_with_redis_a_notice_from_another_process_arrives(daphne: Daphne, user: Any) -> None:
    if daphne.layer != "redis":
        pytest.skip("the in-memory layer does not cross processes (docs/events.md)")
    with stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, user)) as client:
        client.next_ping()
        publish_ops_notice("alert", ALERT)  # this test process, not Daphne's
        (notice,) = client.collect(is_notice)

    assert notice["data"]["title"] == ALERT["title"]
