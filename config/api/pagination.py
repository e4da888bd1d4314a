"""The one pagination every list in the API uses: DRF's cursor pagination, whose ordering each
list names. A `page_size` that is not a whole number from 1 to the list's maximum is a 400
(DRF silently falls back to the default); the schema says the range. A cursor that cannot be
read names no page: DRF's 404, documented on every list."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param or "")
        if not raw:  # absent, or `?page_size=`, which DRF's filters also read as absent
            return self.page_size
        highest = self.max_page_size or self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= (highest or int(raw)):
            message = f"A whole number from 1 to {highest}." if highest else "A whole number."
            raise ValidationError({str(self.page_size_query_param): [message]})
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        highest = self.max_page_size or self.page_size
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": highest}
        return parameters
