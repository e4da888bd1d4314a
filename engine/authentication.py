"""API authentication: user tokens and worker tokens, both stored as digests.

``Authorization: Token <token>`` (or ``Bearer <token>``, for OpenAI-style clients). A worker
token authenticates a `WorkerPrincipal`, which may only act as its own worker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from engine.models import ApiToken, Worker, hash_token
from engine.services.workers import WORKER_TOKEN_PREFIX

LAST_USED_RESOLUTION = timedelta(minutes=1)


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
        digest = hash_token(raw)
        if raw.startswith(WORKER_TOKEN_PREFIX):
            worker = Worker.objects.filter(token_hash=digest).first()
            if worker is None:
                raise exceptions.AuthenticationFailed("Invalid worker token.")
            return WorkerPrincipal(worker), raw
        token = ApiToken.objects.select_related("user").filter(token_hash=digest).first()
        if token is None or token.revoked or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        # At most one write a minute per token: a durable commit on every API request
        # would cost more than the request itself.
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, raw

    def authenticate_header(self, request: Request) -> str:
        return "Token"
