"""One error shape for the API: domain errors become their status code, never a 500."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from engine.services.errors import EngineError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, EngineError):
        return Response({"detail": str(exc), "code": exc.code}, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):  # DRF reads JSON bodies through request.body
        return Response(
            {"detail": "The request body is too large.", "code": "request_too_large"},
            status=413,
        )
    return drf_exception_handler(exc, context)
