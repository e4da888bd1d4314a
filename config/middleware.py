from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponseBase

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
