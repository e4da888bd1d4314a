"""The API's only parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): JSON, answering 400, not
500, to a body nested too deep to decode. JSON only: form input would turn an omitted boolean
into False (DRF's HTML semantics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json raises RecursionError, which DRF does not catch, on e.g. "[" * 100000.
            raise ParseError("JSON parse error - nested too deeply.") from None
