"""JSON types as the schema states them: a string field takes a JSON string, a number field
a number, a boolean field true or false. DRF turns 0 into "0" or False and "5" into 5, so a
client could send what the schema calls invalid and be answered 201. Query strings and form
data (a QueryDict), where every value is text, keep DRF's conversions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import QueryDict
from rest_framework import fields

_TAKES: dict[type[fields.Field[Any, Any, Any, Any]], tuple[type, ...]] = {
    fields.CharField: (str,),
    fields.IntegerField: (int,),
    fields.FloatField: (int, float),
    fields.DecimalField: (str,),  # the schema says a string, as DRF writes decimals
    fields.BooleanField: (bool,),
}


def _from_json(field: fields.Field[Any, Any, Any, Any]) -> bool:
    data = getattr(field.root, "initial_data", None)
    return data is not None and not isinstance(data, QueryDict)


def _strict(original: Callable[..., Any], takes: tuple[type, ...]) -> Callable[..., Any]:
    def to_internal_value(self: fields.Field[Any, Any, Any, Any], data: Any) -> Any:
        wrong_bool = isinstance(data, bool) and bool not in takes
        if _from_json(self) and (wrong_bool or not isinstance(data, takes)):
            self.fail("invalid")
        return original(self, data)

    to_internal_value.juggernaut_strict = True  # type: ignore[attr-defined]
    return to_internal_value


def _raw_length_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    """A string's length as sent, before DRF trims it: the schema's maxLength counts the
    spaces a client sent, so the server does too."""

    def run_validation(self: fields.CharField, data: Any = fields.empty) -> Any:
        too_long = self.max_length is not None and isinstance(data, str)
        if too_long and len(data) > self.max_length:  # type: ignore[operator]
            self.fail("max_length", max_length=self.max_length)
        return original(self, data)

    run_validation.juggernaut_strict = True  # type: ignore[attr-defined]
    return run_validation


def install() -> None:
    """Make DRF's fields strict about JSON types; idempotent."""
    for field_class, takes in _TAKES.items():
        original = field_class.to_internal_value
        if not getattr(original, "juggernaut_strict", False):
            field_class.to_internal_value = _strict(original, takes)  # type: ignore[method-assign]
    if not getattr(fields.CharField.run_validation, "juggernaut_strict", False):
        fields.CharField.run_validation = _raw_length_checked(  # type: ignore[method-assign]
            fields.CharField.run_validation
        )
