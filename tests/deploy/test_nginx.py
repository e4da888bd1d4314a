"""deploy/nginx/juggernaut.conf in front of a real Daphne: what `nginx -t` cannot show.

The site file is used as shipped, with only its listen ports, certificate paths and static
folder moved into the test's folder: HTTP goes to HTTPS, Django sees the request as secure
(no redirect loop, its HSTS header), a websocket upgrades through the proxy, and a body over
the limit is refused by nginx before it reaches Daphne, and the address Django counts
sign-ins by is the one nginx saw, whatever X-Forwarded-For the client sent.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websockets

from engine.services import create_api_token
from tests.chat.conftest import make_session
from tests.chat.live import Daphne, free_port
from tests.deploy.topology import ROOT, listening

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="no nginx (apt-get install nginx-light)"),
]


FAILURES_PER_ADDRESS = 3


class Proxied:
    def __init__(self, daphne: Daphne, https: int, http: int, certificate: Path) -> None:
        self.daphne, self.https, self.http = daphne, https, http
        self.certificate = str(certificate)  # the throw-away one nginx presents

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.https}"


def site_config(folder: Path, *, https: int, http: int, upstream: int) -> str:
    site = (ROOT / "deploy" / "nginx" / "juggernaut.conf").read_text()
    moved = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen [::]:443 ssl http2;": "",
        "listen [::]:80;": "",
        "/etc/nginx/tls/": f"{folder}/tls/",
        "/var/lib/juggernaut/static/": f"{folder}/static/",
        # The redirect names the public port, which here is not 443.
        "return 301 https://$host$request_uri;": f"return 301 https://$host:{https}$request_uri;",
    }
    for shipped, here in moved.items():
        assert shipped in site, f"deploy/nginx/juggernaut.conf no longer has {shipped!r}"
        site = site.replace(shipped, here)
    return f"""
user root;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{}}
http {{
    access_log off;
    upstream juggernaut_web {{ server 127.0.0.1:{upstream}; keepalive 8; }}
    {site}
}}
"""


@pytest.fixture
def proxied(tmp_path: Path, user: Any) -> Iterator[Proxied]:
    daphne = Daphne(
        layer="memory",
        options=("--proxy-headers",),  # as deploy/systemd starts it
        extra_env={
            "BEHIND_TLS_PROXY": "true",
            "SECURE_SSL_REDIRECT": "true",
            "SECURE_HSTS_SECONDS": "3600",
            "SECURE_COOKIES": "true",
            "LOGIN_FAILURES_PER_ADDRESS": str(FAILURES_PER_ADDRESS),
        },
    )
    (tmp_path / "tls").mkdir()
    (tmp_path / "static").mkdir()
    certificate = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = [
        "-keyout",
        str(tmp_path / "tls/privkey.pem"),
        "-out",
        str(tmp_path / "tls/fullchain.pem"),
    ]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *certificate,
            *files,
        ],
        check=True,
        capture_output=True,
    )
    https, http = free_port(), free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(site_config(tmp_path, https=https, http=http, upstream=daphne.port))
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        for port in (https, http):
            if not listening(port, seconds=15):
                raise AssertionError(
                    f"nginx did not listen: {(tmp_path / 'error.log').read_text()}"
                )
        yield Proxied(daphne, https, http, tmp_path / "tls/fullchain.pem")
    finally:
        nginx.terminate()
        nginx.wait(10)
        daphne.stop()


def test_plain_http_is_sent_to_https(proxied: Proxied) -> None:
    response = requests.get(
        f"http://127.0.0.1:{proxied.http}/accounts/login/", allow_redirects=False, timeout=10
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"{proxied.origin}/accounts/login/"


def test_django_sees_the_request_as_secure(proxied: Proxied) -> None:
    response = requests.get(
        f"{proxied.origin}/accounts/login/",
        verify=proxied.certificate,
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 200, "no redirect loop: X-Forwarded-Proto reached Django"
    assert 'name="password"' in response.text
    assert response.headers["Strict-Transport-Security"].startswith("max-age=3600")
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_websocket_upgrades_through_the_proxy(proxied: Proxied, user: Any) -> None:
    session = make_session(user)
    _, token = create_api_token(user=user)
    url = f"wss://127.0.0.1:{proxied.https}/ws/chat/{session.pk}/?after=0"
    tls = ssl.create_default_context(cafile=proxied.certificate)

    async def first_two() -> list[dict[str, Any]]:
        headers = {"Authorization": f"Token {token}", "Origin": proxied.origin}
        async with websockets.connect(url, ssl=tls, additional_headers=headers) as ws:
            return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]

    events = asyncio.run(first_two())

    assert events[0]["type"] == "session.created"
    assert events[1]["type"] == "ping", "held open: the heartbeat came through"


def test_a_body_over_the_limit_is_refused_by_nginx(proxied: Proxied) -> None:
    response = requests.post(
        f"{proxied.origin}/api/logs/ingest/",
        data=b"x" * (7 * 1024 * 1024),
        verify=proxied.certificate,
        timeout=30,
    )
    assert response.status_code == 413
    assert "nginx" in response.text


def test_a_client_cannot_choose_the_address_the_sign_in_limit_counts(proxied: Proxied) -> None:
    browser = requests.Session()
    login = f"{proxied.origin}/accounts/login/"
    browser.get(login, verify=proxied.certificate, timeout=10)

    def sign_in(attempt: int) -> int:
        forged = {"X-Forwarded-For": f"203.0.113.{attempt}", "Referer": login}
        body = {
            "username": f"nobody{attempt}",  # a fresh account each time: only the address counts
            "password": "wrong",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        }
        answer = browser.post(
            login, data=body, headers=forged, verify=proxied.certificate, timeout=10
        )
        return answer.status_code

    statuses = [sign_in(attempt) for attempt in range(FAILURES_PER_ADDRESS + 1)]

    assert statuses[:FAILURES_PER_ADDRESS] == [200] * FAILURES_PER_ADDRESS
    assert statuses[-1] == 429, "the forged X-Forwarded-For did not reach Daphne as the address"
