from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils.deprecation import MiddlewareMixin
from rest_framework.settings import api_settings

from config.limits import Rate, client_address, retry_after, wait_after_counting, wait_if_spent

# These prefixes answer 401 themselves (DRF); a redirect to a login page means nothing to
# an API client.
API_PREFIXES = ("/api/", "/v1/")


class DashboardLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a login, except the API, which authenticates on its own."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if request.path.startswith(API_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class FailedAuthenticationLimitMiddleware(MiddlewareMixin):
    """An address whose API requests drew too many 401s (bad or revoked tokens, guesses) is
    refused with 429 before its next request is authenticated, for the rest of the window
    (API_RATE_FAILED_AUTH). DRF's throttles cannot do this: they run after authentication,
    which answers a bad token 401 first."""

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        rate = _failed_auth_rate()
        if rate is None or not request.path.startswith(API_PREFIXES):
            return None
        wait = wait_if_spent(_failed_auth_key(request), rate)
        if wait is None:
            return None
        refused = JsonResponse(
            {
                "detail": "Too many failed authentications from this address; "
                f"try again in {retry_after(wait)} s.",
                "code": "throttled",
            },
            status=429,
        )
        refused["Retry-After"] = retry_after(wait)
        return refused

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        rate = _failed_auth_rate()
        counted = response.status_code == 401 and request.path.startswith(API_PREFIXES)
        if rate is not None and counted:
            wait_after_counting(_failed_auth_key(request), rate)
        return response


def _failed_auth_rate() -> Rate | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("failed_auth")
    return Rate.parse(str(rate)) if rate else None


def _failed_auth_key(request: HttpRequest) -> str:
    return f"api:failed_auth:{client_address(request)}"
