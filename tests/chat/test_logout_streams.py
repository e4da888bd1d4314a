"""Logging out closes that browser's websockets at once, against a real Daphne with a real
websocket client, on both channel layers. The heartbeat is slow here (60 s), so what closes
them is the logout itself, not the next periodic check."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client

from chat.services import create_session
from engine.services import create_api_token
from tests.chat.live import (
    ROOT,
    Daphne,
    StreamClient,
    channel_layers,
    database_url_for_children,
    layer_settings,
    redis_url,
    stream,
)

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("routing_defaults"),
]

PROMPTLY = 3.0  # seconds; the heartbeat would take 60


@pytest.fixture(scope="module", params=channel_layers())
def daphne(request: pytest.FixtureRequest, django_db_setup: Any) -> Iterator[Daphne]:
    server = Daphne(layer=request.param, extra_env={"CHAT_WS_HEARTBEAT_SECONDS": "60"})
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def same_layer(daphne: Daphne, settings: Any) -> None:
    settings.CHANNEL_LAYERS = layer_settings(daphne.layer, daphne.prefix)


def sign_in(user: Any) -> str:
    """A browser login of `user`: its session key (the cookie's value)."""
    client = Client()
    client.force_login(user)
    return str(client.cookies[django_settings.SESSION_COOKIE_NAME].value)


def cookie_headers(daphne: Daphne, key: str) -> dict[str, str]:
    return {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={key}", "Origin": daphne.http}


def log_out(daphne: Daphne, key: str) -> None:
    """What the page's Log out button does: a POST with the form's CSRF token."""
    browser = requests.Session()
    browser.cookies.set(django_settings.SESSION_COOKIE_NAME, key)
    assert browser.get(f"{daphne.http}/chat/", timeout=10).status_code == 200
    token = browser.cookies[django_settings.CSRF_COOKIE_NAME]
    response = browser.post(
        f"{daphne.http}/accounts/logout/",
        data={"csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    assert not Session.objects.filter(session_key=key).exists()


def still_open(client: StreamClient) -> bool:
    if not client.connected:
        return False
    client.send({"type": "ping"})
    return client.next_ping()["type"] == "ping"


def test_logging_out_closes_that_browsers_sockets_at_once(daphne: Daphne, user: Any) -> None:
    session = create_session(owner=user, mode="ops")
    leaving, staying = sign_in(user), sign_in(user)
    _, token = create_api_token(user=user)
    with (
        stream(f"{daphne.ws}/ws/chat/{session.pk}/", cookie_headers(daphne, leaving)) as chat,
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, leaving)) as ops,
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, staying)) as other_tab,
        stream(
            f"{daphne.ws}/ws/chat/{session.pk}/",
            {"Authorization": f"Token {token}", "Origin": daphne.http},
        ) as script,
    ):
        assert chat.connected and ops.connected and other_tab.connected and script.connected

        started = time.monotonic()
        log_out(daphne, leaving)
        assert chat.done.wait(PROMPTLY) and ops.done.wait(PROMPTLY)
        assert time.monotonic() - started < PROMPTLY
        assert (chat.close_code, ops.close_code) == (4403, 4403)

        assert still_open(other_tab), "another login of the same user keeps its stream"
        assert still_open(script), "a token client's access ends with its token, not a login"

    with stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, leaving)) as again:
        again.done.wait(5)
    assert again.status == 403


def test_a_login_that_ended_elsewhere_loses_the_stream_at_the_next_check(
    daphne: Daphne, user: Any
) -> None:
    """As when another process handled the logout and the in-memory layer could not tell this
    one, or the session expired: the next message finds the login gone."""
    key = sign_in(user)
    with stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, key)) as ops:
        assert still_open(ops)

        Session.objects.filter(session_key=key).delete()
        ops.send({"type": "ping"})

        assert ops.done.wait(PROMPTLY)
    assert ops.close_code == 4403


def test_a_password_change_ends_the_browsers_stream(daphne: Daphne, user: Any) -> None:
    key = sign_in(user)
    with stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, key)) as ops:
        assert still_open(ops)

        user.set_password("pw-alice-456")
        user.save()
        ops.send({"type": "ping"})

        assert ops.done.wait(PROMPTLY)
    assert ops.close_code == 4403


def post_in_the_admin(daphne: Daphne, staff_key: str, page: str, data: dict[str, Any]) -> None:
    """Submit an admin form as a signed-in staff browser does, in the server's process."""
    browser = requests.Session()
    browser.cookies.set(django_settings.SESSION_COOKIE_NAME, staff_key)
    url = f"{daphne.http}/admin/{page}"
    assert browser.get(url, timeout=10).status_code == 200
    response = browser.post(
        url,
        data={"csrfmiddlewaretoken": browser.cookies[django_settings.CSRF_COOKIE_NAME], **data},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]


def revoke_in_the_admin(daphne: Daphne, staff_key: str, token_id: int) -> None:
    """What the admin's "Revoke selected" action does."""
    selected = {"action": "revoke_selected", "_selected_action": [str(token_id)]}
    post_in_the_admin(daphne, staff_key, "engine/apitoken/", selected)


def test_revoking_a_token_closes_its_streams_at_once(daphne: Daphne, user: Any, staff: Any) -> None:
    session = create_session(owner=user, mode="ops")
    token_row, token = create_api_token(user=user)
    browser = sign_in(user)
    with (
        stream(
            f"{daphne.ws}/ws/chat/{session.pk}/",
            {"Authorization": f"Token {token}", "Origin": daphne.http},
        ) as script,
        stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, browser)) as page,
    ):
        assert script.connected and page.connected

        started = time.monotonic()
        revoke_in_the_admin(daphne, sign_in(staff), token_row.pk)

        assert script.done.wait(PROMPTLY)
        assert time.monotonic() - started < PROMPTLY
        assert script.close_code == 4403
        assert still_open(page), "the user's browser login was not revoked"


# Changes made outside the server's process reach its sockets only over Redis.
on_redis_only = pytest.mark.parametrize(
    "daphne",
    [p for p in channel_layers() if getattr(p, "values", [p])[0] == "redis"],
    indirect=True,
)


@on_redis_only
def test_deactivating_a_user_anywhere_closes_their_streams_at_once(
    daphne: Daphne, user: Any
) -> None:
    """Saved in this process (a command, another server): the Redis layer carries the
    re-check to the server's sockets. On the in-memory layer that takes the next check."""
    key = sign_in(user)
    with stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, key)) as ops:
        assert still_open(ops)

        started = time.monotonic()
        user.is_active = False
        user.save()

        assert ops.done.wait(PROMPTLY)
        assert time.monotonic() - started < PROMPTLY
    assert ops.close_code == 4403


def delete_in_the_admin(daphne: Daphne, staff_key: str, token_id: int) -> None:
    """What the admin's Delete button on a token's page does."""
    post_in_the_admin(daphne, staff_key, f"engine/apitoken/{token_id}/delete/", {"post": "yes"})


def test_deleting_a_token_closes_its_streams_at_once(daphne: Daphne, user: Any, staff: Any) -> None:
    """A deleted token authenticates nobody, as a revoked one: its streams go at once too."""
    session = create_session(owner=user, mode="ops")
    token_row, token = create_api_token(user=user)
    with stream(
        f"{daphne.ws}/ws/chat/{session.pk}/",
        {"Authorization": f"Token {token}", "Origin": daphne.http},
    ) as script:
        assert script.connected

        started = time.monotonic()
        delete_in_the_admin(daphne, sign_in(staff), token_row.pk)

        assert script.done.wait(PROMPTLY)
        assert time.monotonic() - started < PROMPTLY
    assert script.close_code == 4403


def manage(daphne: Daphne, *args: str) -> None:
    """A management command in a process of its own, on the server's database and layer."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_children(),
        "SECRET_KEY": django_settings.SECRET_KEY,
        "CHANNELS_REDIS_PREFIX": daphne.prefix,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    if daphne.layer == "redis":
        env["REDIS_URL"] = redis_url()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=60)


@on_redis_only
def test_deactivating_a_user_in_a_management_command_closes_their_streams_at_once(
    daphne: Daphne, user: Any
) -> None:
    """A short-lived process: the re-check it queued is sent before it exits."""
    key = sign_in(user)
    with stream(f"{daphne.ws}/ws/ops/", cookie_headers(daphne, key)) as ops:
        assert still_open(ops)

        manage(
            daphne,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"user = User.objects.get(pk={user.pk}); user.is_active = False; user.save()",
        )

        assert ops.done.wait(PROMPTLY)
    assert ops.close_code == 4403
