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
