"""How the OpenAPI schema describes our token authentication and our enums."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import ResolvedComponent


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "engine.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`: a user token (create_token) or a worker token "
            "(from registering the worker). `Bearer <token>` works too.",
        }


# Any JSON value but null, which OpenAPI 3.0 can only say as a list of the other types.
ANY_JSON_BUT_NULL = {
    "oneOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {}},
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
    ]
}


class StorableJSONFieldScheme(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = "config.api.fields.StorableJSONField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = dict(ANY_JSON_BUT_NULL)
        if self.target.allow_null:
            schema["nullable"] = True
        return schema


class JSONObjectFieldScheme(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = "config.api.fields.JSONObjectField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": {}}


class DecimalFieldScheme(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """drf-spectacular's decimal pattern always allows a minus sign; a decimal that may not
    be negative says so."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        minimum = self.target.min_value
        if minimum is not None and minimum >= 0 and "pattern" in schema:
            schema["pattern"] = schema["pattern"].replace("^-?", "^", 1)
        return schema


class EnumChoiceFieldScheme(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """One component per choices class, so that Task.state and Worker.state do not collide."""

    target_class = "config.api.fields.EnumChoiceField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        choices_class = self.target.choices_class
        component = ResolvedComponent(  # type: ignore[no-untyped-call]
            name=f"{choices_class.__name__}Enum",
            type=ResolvedComponent.SCHEMA,
            object=choices_class,
            schema={
                "type": "string",
                "enum": list(choices_class.values),
                "description": "\n".join(
                    f"* `{value}` - {label}" for value, label in choices_class.choices
                ),
            },
        )
        auto_schema.registry.register_on_missing(component)
        if self.target.allow_blank:
            return {"oneOf": [component.ref, {"type": "string", "enum": [""]}]}
        return dict(component.ref)


ERROR_BODY = "ErrorBody"
_ERROR_SCHEMA = {
    "type": "object",
    "description": 'A refusal: `{"detail": "...", "code": "..."}`, or, for a body or query '
    'that names fields, `{"field": ["message", ...]}`.',
    "additionalProperties": {},
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until a request may succeed again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_METHODS = ("get", "put", "post", "patch", "delete")


def _common_errors(path: str, method: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The answers any operation may give besides its own (config/api/errors.py, throttling,
    authentication, config/body_limit.py), keyed by status."""
    has_body = "requestBody" in operation
    has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
    errors = {
        "401": "Not authenticated: no credentials, or a token that is unknown or revoked.",
        "403": "Authenticated, but not allowed to do this.",
        "429": "Over a rate (docs/security.md, Limits); wait `Retry-After` seconds.",
    }
    if has_body or has_query:
        errors["400"] = "The request is not valid: the body names the fields."
    if "{" in path or has_query:
        errors["404"] = "No such object, or a cursor that names no page."
    if method != "get":
        errors["409"] = "The request clashes with an existing object or the object's state."
    if has_body:
        errors["404"] = "No such object, or the body names one that does not exist."
        errors["413"] = "The body is larger than the limit (REQUEST_MAX_BODY_BYTES)."
        errors["415"] = "The body is not JSON."
    return {
        status: {
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_BODY}"}}
            },
            **({"headers": _RETRY_AFTER} if status == "429" else {}),
        }
        for status, description in errors.items()
    }


def document_common_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS): every operation's schema
    lists the errors every API view may answer, so that a client and a fuzzer both know the
    whole set. An operation's own description of a status wins."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_BODY] = _ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in _common_errors(path, method, operation).items():
                responses.setdefault(status, response)
            for parameter in operation.get("parameters", []):
                # DRF's filters read `?x=` as no x at all.
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
                _not_only_spaces(parameter.get("schema", {}))
    for name, schema in result["components"]["schemas"].items():
        if name.endswith("Request"):
            for field in schema.get("properties", {}).values():
                _not_only_spaces(field)
    return result


def _not_only_spaces(schema: dict[str, Any]) -> None:
    """DRF trims a string before it checks it is not blank: one that may not be blank must
    hold something besides spaces."""
    plain = not ({"enum", "format", "pattern"} & schema.keys())
    if schema.get("type") == "string" and schema.get("minLength", 0) >= 1 and plain:
        schema["pattern"] = "\\S"
