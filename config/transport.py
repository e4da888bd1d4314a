"""Headers every answer carries, and HTTPS for every path, as an ASGI layer: the gateway's
fast path (routing/gateway/asgi.py) and the static files never pass through Django's
SecurityMiddleware, so `/v1/` answered without HSTS and ignored SECURE_SSL_REDIRECT.

- SECURE_SSL_REDIRECT: a request that did not come over HTTPS is sent to the same URL on
  https, before its body is read (Django's rule: the scheme, or SECURE_PROXY_SSL_HEADER).
- HSTS (SECURE_HSTS_SECONDS and its two flags) on answers over HTTPS, as Django writes it.
- The Content-Security-Policy below on every answer; `X-Content-Type-Options: nosniff`.
A header the application already set is left as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Scripts and styles only from our own files (the pages keep none inline: data goes in
# <script type="application/json">, which is not run); fetches and websockets to this
# origin only; never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def is_secure(scope: Scope) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    meta_name, secure_value = proxy_header
    name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode()
    value = _header(scope, name)
    return value is not None and value.split(",", 1)[0].strip() == secure_value


def hsts_value() -> str:
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value


def _extra_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    extra = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode())]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        extra.append((b"x-content-type-options", b"nosniff"))
    if secure and settings.SECURE_HSTS_SECONDS:
        extra.append((b"strict-transport-security", hsts_value().encode()))
    return extra


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class TransportSecurity:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = is_secure(scope)
        if settings.SECURE_SSL_REDIRECT and not secure:
            await self._redirect(scope, send)
            return
        extra = _extra_headers(secure)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers") or []}
                added = [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": [*(message.get("headers") or []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _redirect(self, scope: Scope, send: Send) -> None:
        host = settings.SECURE_SSL_HOST or _header(scope, b"host") or ""
        domain, _ = split_domain_port(host)
        allowed = settings.ALLOWED_HOSTS or (
            ["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
        )
        if not settings.SECURE_SSL_HOST and not (domain and validate_host(domain, allowed)):
            await _respond(send, 400, [(b"content-length", b"0")])
            return
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        location = b"https://" + host.encode("latin-1") + path + (b"?" + query if query else b"")
        await _respond(send, 301, [(b"location", location), (b"content-length", b"0")])
