"""Websockets accept only this site's own pages: the Origin's host must be an allowed host
(Channels' AllowedHostsOriginValidator, outside this one) and its port the port the browser
connected to (the Host header's). Without the port, any page served from the same host name
on another port (another service on the box, a dev server) could open a stream with the
user's session cookie. An origin listed in CSRF_TRUSTED_ORIGINS is accepted as it is."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port

DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None


def same_origin(origin: str | None, host: str | None) -> bool:
    if not origin or not host:
        return False
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    default = DEFAULT_PORTS.get(parts.scheme)
    if default is None or not parts.hostname:
        return False
    domain, port = split_domain_port(host)
    if not domain or (port and not port.isdigit()):
        return False
    # The Host header carries no port when the browser used its scheme's default one.
    return (parts.hostname, origin_port or default) == (domain, int(port) if port else default)


class SameOriginValidator:
    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        if same_origin(_header(scope, b"origin"), _header(scope, b"host")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
