"""A validator for the JSON-schema subset tool arguments use.

Supported: type (object, string, integer, number, boolean, array), properties, required,
additionalProperties (false), enum, minLength, maxLength, minimum, maximum, items, maxItems.
Every problem is reported at once, by path, so the model can fix them in one try.
"""

from __future__ import annotations

from typing import Any

JsonSchema = dict[str, Any]

SUPPORTED_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "enum",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "items",
        "maxItems",
        "description",
        "default",
    }
)


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "null":
        return value is None
    raise ValueError(f"unsupported schema type {kind!r}")


def validation_errors(value: Any, schema: JsonSchema, path: str = "") -> list[str]:
    """Every way `value` breaks `schema`, as "path: problem" lines; [] when it is valid."""
    where = path or "arguments"
    kinds = schema.get("type")
    if kinds is not None:
        allowed = kinds if isinstance(kinds, list) else [kinds]
        if not any(_type_ok(value, kind) for kind in allowed):
            return [f"{where}: must be {' or '.join(allowed)}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: must be one of {schema['enum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: at most {schema['maxLength']} characters")
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{where}: at least {schema['minLength']} characters")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: at most {schema['maximum']}")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: at most {schema['maxItems']} items")
        if "items" in schema:
            for index, item in enumerate(value):
                errors.extend(validation_errors(item, schema["items"], f"{where}[{index}]"))
    if isinstance(value, dict):
        errors.extend(_object_errors(value, schema, path))
    return errors


def _object_errors(value: dict[str, Any], schema: JsonSchema, path: str) -> list[str]:
    errors: list[str] = []
    properties: dict[str, JsonSchema] = schema.get("properties") or {}
    prefix = f"{path}." if path else ""
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(f"{prefix}{name}: required")
    for name, item in value.items():
        if name in properties:
            errors.extend(validation_errors(item, properties[name], f"{prefix}{name}"))
        elif schema.get("additionalProperties") is False:
            errors.append(f"{prefix}{name}: unknown argument")
    return errors


def check_schema(schema: JsonSchema, path: str = "parameters") -> None:
    """Refuse, at registration, a schema using keywords this validator would ignore."""
    unknown = set(schema) - SUPPORTED_KEYWORDS
    if unknown:
        raise ValueError(f"{path}: unsupported JSON-schema keywords {sorted(unknown)}")
    for name, child in (schema.get("properties") or {}).items():
        check_schema(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        check_schema(schema["items"], f"{path}.items")
