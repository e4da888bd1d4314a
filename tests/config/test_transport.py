"""HTTPS and the security headers on every path, the gateway's fast path (`/v1/`) included,
driven through the project's whole ASGI application."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def call(
    path: str, *, scheme: str = "http", headers: list[tuple[bytes, bytes]] | None = None
) -> Any:
    from config.asgi import application

    sent: list[dict[str, Any]] = []
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(30)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(asyncio.wait_for(application(scope, receive, send), timeout=20))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], {
        name.decode().lower(): value.decode() for name, value in start["headers"]
    }


@pytest.mark.parametrize("path", ["/v1/models", "/accounts/login/", "/api/tasks/"])
def test_the_ssl_redirect_covers_every_path(settings: Any, path: str) -> None:
    settings.SECURE_SSL_REDIRECT = True

    status, headers = call(path)

    assert status == 301
    assert headers["location"] == f"https://127.0.0.1{path}"


def test_the_redirect_never_goes_to_a_host_that_is_not_allowed(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True

    status, headers = call("/v1/models", headers=[(b"host", b"evil.example")])

    assert status == 400
    assert "location" not in headers


@pytest.mark.parametrize("path", ["/v1/models", "/accounts/login/"])
def test_hsts_is_sent_on_every_path_over_https(settings: Any, path: str) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    _, over_https = call(path, scheme="https")
    _, over_http = call(path)

    assert over_https["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "strict-transport-security" not in over_http


def test_the_proxys_word_for_https_is_taken_when_configured(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    status, _ = call(
        "/v1/models", headers=[(b"host", b"127.0.0.1"), (b"x-forwarded-proto", b"https")]
    )

    assert status == 401  # served, not redirected


@pytest.mark.parametrize("path", ["/v1/models", "/accounts/login/", "/api/tasks/"])
def test_every_answer_carries_the_content_security_policy(path: str) -> None:
    _, headers = call(path)

    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert list(headers).count("content-security-policy") == 1
