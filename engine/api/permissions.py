"""A worker acts only as itself. Who may manage tasks and workers (people) is the API's
default, `config.api.permissions.IsHumanUser`."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from engine.authentication import WorkerPrincipal
from engine.models import Worker


class IsThisWorker(BasePermission):
    """The worker whose token was presented is the worker named in the URL."""

    message = "Only the worker's own token may act for it."

    def has_permission(self, request: Request, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, WorkerPrincipal):
            return False
        return str(view.kwargs.get("pk")) == str(principal.worker.pk)


def this_worker(request: Request) -> Worker:
    """The request's worker, for views already guarded by `IsThisWorker`."""
    if not isinstance(request.user, WorkerPrincipal):
        raise PermissionDenied(IsThisWorker.message)
    return request.user.worker
