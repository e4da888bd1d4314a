"""API authentication: user tokens and worker tokens, both stored as digests.

``Authorization: Token <token>`` (or ``Bearer <token>``, for OpenAI-style clients). A worker
token authenticates a `WorkerPrincipal`, which may only act as its own worker. The check
itself, shared with chat's websockets, is `engine.services.tokens`.

The OpenAI-compatible gateway (`routing`) uses this class too without importing it:
`config/settings.py` names it in DRF's ``DEFAULT_AUTHENTICATION_CLASSES``, which the
gateway's views take as every DRF view does (docs/architecture.md, "Authentication").
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from engine.models import Worker
from engine.services.tokens import is_worker_token, user_for_token, worker_for_token


class WorkerPrincipal:
    """The request's user when a worker token was presented."""

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.pk = None

    def __str__(self) -> str:
        return f"worker:{self.worker.name}"

    def get_username(self) -> str:
        return f"worker:{self.worker.name}"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header: 'Token <token>'.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if is_worker_token(raw):
            worker = worker_for_token(raw)
            if worker is None:
                raise exceptions.AuthenticationFailed("Invalid worker token.")
            return WorkerPrincipal(worker), raw
        user = user_for_token(raw)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return user, raw

    def authenticate_header(self, request: Request) -> str:
        return "Token"
