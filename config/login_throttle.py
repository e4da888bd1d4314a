"""Sign-in limits: failed sign-ins are counted per account and per client address in the
limits cache (config/limits.py); past LOGIN_FAILURES_PER_ACCOUNT or
LOGIN_FAILURES_PER_ADDRESS within LOGIN_FAILURE_WINDOW_SECONDS, every sign-in of that
account or from that address is refused, the right password included, until the window ends.

The check sits in the authentication backend, where every password is checked (the sign-in
page, the admin's, anything calling `authenticate()`); the middleware turns a refusal into a
429 page with `Retry-After`. Our own rather than django-axes: see docs/security.md "Limits".
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin

from config.limits import (
    Rate,
    client_address,
    hashed,
    retry_after,
    wait_after_counting,
    wait_if_spent,
)

REFUSED_ATTRIBUTE = "juggernaut_login_refused_for"


def _keys_and_rates(request: HttpRequest | None, username: str) -> list[tuple[str, Rate]]:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    keys = [
        (f"login:account:{hashed(username)}", Rate(settings.LOGIN_FAILURES_PER_ACCOUNT, window))
    ]
    if request is not None:
        address_rate = Rate(settings.LOGIN_FAILURES_PER_ADDRESS, window)
        keys.append((f"login:address:{client_address(request)}", address_rate))
    return keys


def sign_in_refused_for(request: HttpRequest | None, username: str) -> float | None:
    """Seconds until this account may try again from this address, or None if it may now."""
    waits = [wait_if_spent(key, rate) for key, rate in _keys_and_rates(request, username)]
    spent = [wait for wait in waits if wait is not None]
    return max(spent) if spent else None


def count_failed_sign_in(request: HttpRequest | None, username: str) -> None:
    for key, rate in _keys_and_rates(request, username):
        wait_after_counting(key, rate)


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, refusing accounts and addresses past their failed sign-ins."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(self._username_field())
        if username is None or password is None:
            return None
        wait = sign_in_refused_for(request, username)
        if wait is not None:
            if request is not None:
                setattr(request, REFUSED_ATTRIBUTE, wait)
            # Stops authenticate() at once: no other backend, no password check.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            count_failed_sign_in(request, username)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return str(get_user_model().USERNAME_FIELD)


class LoginThrottleMiddleware(MiddlewareMixin):
    """A sign-in the backend refused becomes a 429 page in the site's layout."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        wait = getattr(request, REFUSED_ATTRIBUTE, None)
        if wait is None:
            return response
        refused = render(
            request,
            "registration/login_throttled.html",
            {"minutes": max(1, math.ceil(wait / 60))},
            status=429,
        )
        refused["Retry-After"] = retry_after(wait)
        return refused
