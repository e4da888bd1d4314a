"""The API's default permission: a person, never a worker token. Named as the default in
`REST_FRAMEWORK` (config/settings.py); every app's API uses it for its people's endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsHumanUser(BasePermission):
    """A real, active user account: a session or a user token, never a worker token."""

    message = "This endpoint is for people; worker tokens may not use it."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, AbstractBaseUser) and user.is_authenticated and user.is_active


def human_user(request: Request) -> User:
    """The request's user, for views already guarded by `IsHumanUser`."""
    if not isinstance(request.user, User):
        raise PermissionDenied(IsHumanUser.message)
    return request.user
