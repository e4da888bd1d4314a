"""Serializer fields every app's API shares: JSON a database can store, enums as one schema
component, and the body of a refused request."""

from __future__ import annotations

import re
from typing import Any

from django.db import models
from rest_framework import serializers

MAX_JSON_DEPTH = 32

# PostgreSQL refuses NUL in text and jsonb, and no database encodes a lone surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_storable_json(value: Any) -> None:
    """Refuse JSON no database can store, iteratively: recursion is what we guard against."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise serializers.ValidationError(f"Nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise serializers.ValidationError("Strings may not hold NUL or lone surrogates.")
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, depth))
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


class StorableJSONField(serializers.JSONField):
    """Any JSON value that the database can store."""

    def to_internal_value(self, data: Any) -> Any:
        check_storable_json(data)
        return super().to_internal_value(data)


class JSONObjectField(StorableJSONField):
    """A JSON object (a dict), never a list or a scalar."""

    default_error_messages = {"not_an_object": "Expected a JSON object."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            self.fail("not_an_object")
        return super().to_internal_value(data)


class EnumChoiceField(serializers.ChoiceField):
    """A choice field whose schema is one shared component named after its choices class
    (`TaskStateEnum`), rather than a name guessed from each field's name."""

    def __init__(self, choices_class: type[models.TextChoices], **kwargs: Any) -> None:
        self.choices_class = choices_class
        super().__init__(choices=choices_class.choices, **kwargs)


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of a refused request (a domain error carries `code`)."""

    detail = serializers.CharField(read_only=True)
    # Not read-only: the schema would list it as always present, and a plain 404 has none.
    code = serializers.CharField(required=False)
    field = serializers.CharField(
        required=False, help_text="The input field at fault, when the refusal is about one."
    )
