"""The one pagination every list in the API uses: DRF's cursor pagination, whose ordering each
list names, answering a cursor it cannot read with a 400 that names the parameter (DRF's own
answer is a 404, as if the list did not exist)."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request


class CursorPagination(pagination.CursorPagination):
    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:
            message = self.invalid_cursor_message
            raise ValidationError({self.cursor_query_param: [message]}) from None
