"""Rows as JSON and back, exactly: what snapshots store and what revert compares.

Django's JSON encoder cuts datetimes to milliseconds, which would make a restored row differ
from the original; here a datetime keeps its microseconds.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.apps import apps
from django.db import models

# A row's last-save time changes with every save, a restore included; comparing it would
# call every row "changed since".
IGNORED_WHEN_COMPARING = frozenset({"updated_at"})


def model_label(model: type[models.Model] | models.Model) -> str:
    return model._meta.label_lower


def target_label(obj: models.Model) -> str:
    return f"{model_label(obj)}#{obj.pk}"


def to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def serialize_row(obj: models.Model) -> dict[str, Any]:
    """Every concrete field by attribute name (``lease_worker_id``), JSON-safe."""
    return {
        field.attname: to_json(getattr(obj, field.attname)) for field in obj._meta.concrete_fields
    }


def deserialize_row(label: str, values: dict[str, Any]) -> dict[str, Any]:
    """Snapshot values back to Python values of the model's fields."""
    model = apps.get_model(label)
    fields = {field.attname: field for field in model._meta.concrete_fields}
    result: dict[str, Any] = {}
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            continue
        if isinstance(field, models.JSONField) or value is None:
            result[name] = value
        else:
            result[name] = field.to_python(value)
    return result


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    names = (set(old) | set(new)) - IGNORED_WHEN_COMPARING
    return sorted(name for name in names if old.get(name) != new.get(name))


def diff(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, as (before, after); the audit row shows only these."""
    old = old or {}
    new = new or {}
    names = changed_fields(old, new)
    return {n: old.get(n) for n in names if n in old}, {n: new.get(n) for n in names if n in new}


def to_json_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_json_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_json_tree(v) for v in value]
    return to_json(value)
