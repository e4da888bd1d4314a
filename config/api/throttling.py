"""The API's throttles (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES), counted in the limits
cache (config/limits.py), with rates from REST_FRAMEWORK's DEFAULT_THROTTLE_RATES (the
API_RATE_* settings). An answer over the rate is DRF's 429 with `Retry-After`.

Another endpoint takes its own rate by naming a scope: ``throttle_scope = "ingest"`` on the
view, with ``throttle_classes = [PrincipalRateThrottle]`` if it set none of its own.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from config.limits import Rate, client_address, wait_after_counting


def principal_key(request: Request) -> tuple[str, str]:
    """Who is calling, as (kind, id): a worker token counts for its worker, a user's
    sessions and tokens together for the user, anyone else for their address."""
    user = request.user
    worker = getattr(user, "worker", None)
    if worker is not None:
        return "worker", str(worker.pk)
    if user is not None and user.is_authenticated:
        return "user", str(user.pk)
    return "address", client_address(request._request)


class PrincipalRateThrottle(BaseThrottle):
    """Requests per principal and scope. The scope is the view's `throttle_scope`, else
    "worker" for a worker token and "user" for everyone else."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        kind, ident = principal_key(request)
        scope = getattr(view, "throttle_scope", None) or ("worker" if kind == "worker" else "user")
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if rate is None:
            return True
        self._wait = wait_after_counting(f"api:{scope}:{kind}:{ident}", Rate.parse(str(rate)))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
