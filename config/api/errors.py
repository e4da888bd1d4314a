"""One error shape for the API: domain errors become their status code, never a 500.

A body that is well formed but clashes with what exists is told apart from a malformed one,
as the schema promises: naming a row that does not exist (DRF's "does_not_exist") is a 404,
duplicating a unique one ("unique"), or changing what the object's state forbids (a
serializer's own code "conflict"), a 409; anything else invalid stays a 400.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from engine.services.errors import EngineError

STATUS_BY_CODE = {"does_not_exist": 404, "unique": 409, "conflict": 409}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, EngineError):
        body = {**exc.details, "detail": str(exc), "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):  # DRF reads JSON bodies through request.body
        return Response(
            {"detail": "The request body is too large.", "code": "request_too_large"},
            status=413,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, ValidationError):
        codes = set(_codes(exc.get_codes()))
        if len(codes) == 1 and (status := STATUS_BY_CODE.get(codes.pop())):
            response.status_code = status
    return response


def _codes(codes: Any) -> list[str]:
    if isinstance(codes, dict):
        return [code for value in codes.values() for code in _codes(value)]
    if isinstance(codes, list):
        return [code for value in codes for code in _codes(value)]
    return [str(codes)]
