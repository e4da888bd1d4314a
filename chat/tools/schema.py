"""Tool arguments checked against their JSON schema (jsonschema, draft 2020-12).

Every problem is reported at once, by path, so the model can fix them in one try.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator

JsonSchema = dict[str, Any]


def validation_errors(value: Any, schema: JsonSchema) -> list[str]:
    """Every way `value` breaks `schema`, as "path: problem" lines; [] when it is valid."""
    validator = Draft202012Validator(schema)
    return [
        f"{_where(error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.path)))
    ]


def _where(path: Iterable[str | int]) -> str:
    where = "arguments"
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where


def check_schema(schema: JsonSchema) -> None:
    """Refuse, at registration, a schema that is not a valid JSON schema."""
    Draft202012Validator.check_schema(schema)
