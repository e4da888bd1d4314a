"""Who may call what: people manage tasks and workers; a worker acts only as itself."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from engine.authentication import WorkerPrincipal
from engine.models import Worker


class IsHumanUser(BasePermission):
    """A real, active user account: a session or a user token, never a worker token."""

    message = "This endpoint is for people; worker tokens may not use it."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, AbstractBaseUser) and user.is_authenticated and user.is_active


class IsThisWorker(BasePermission):
    """The worker whose token was presented is the worker named in the URL."""

    message = "Only the worker's own token may act for it."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, WorkerPrincipal):
            return False
        return str(view.kwargs.get("pk")) == str(principal.worker.pk)


def human_user(request: Request) -> User:
    """The request's user, for views already guarded by `IsHumanUser`."""
    if not isinstance(request.user, User):
        raise PermissionDenied(IsHumanUser.message)
    return request.user


def this_worker(request: Request) -> Worker:
    """The request's worker, for views already guarded by `IsThisWorker`."""
    if not isinstance(request.user, WorkerPrincipal):
        raise PermissionDenied(IsThisWorker.message)
    return request.user.worker
