"""One error shape for the API: domain errors become their status code, never a 500."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from engine.services.errors import EngineError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, EngineError):
        body = {**exc.details, "detail": str(exc), "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    return drf_exception_handler(exc, context)
