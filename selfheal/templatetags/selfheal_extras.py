"""Small filters for showing evidence and changes on the self-heal page."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.dateparse import parse_datetime

register = template.Library()


@register.filter
def evidence_rows(evidence: Any) -> list[dict[str, Any]]:
    """A finding's evidence as rows: scalars inline, lists of scalars joined, the rest JSON."""
    if not isinstance(evidence, dict):
        return []
    rows = []
    for key, value in evidence.items():
        label = str(key).replace("_", " ")
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            rows.append({"key": label, "value": ", ".join(map(str, value)) or "—", "block": False})
        elif isinstance(value, dict | list):
            rows.append({"key": label, "value": pretty_json(value), "block": True})
        else:
            rows.append({"key": label, "value": "—" if value is None else value, "block": False})
    return rows


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def changes(action: Any) -> list[dict[str, Any]]:
    """An action's before and after, field by field; instants to the second, for reading
    (the API and the snapshot keep them exact)."""
    before = action.before or {}
    after = action.after or {}
    names = list(dict.fromkeys([*before, *after]))
    return [
        {"field": n, "before": _readable(before.get(n)), "after": _readable(after.get(n))}
        for n in names
    ]


def _readable(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        instant = parse_datetime(value)
        if instant is not None:
            return instant.strftime("%Y-%m-%d %H:%M:%S")
    return value


@register.filter
def words(value: Any) -> str:
    """``running_past_lease`` as ``running past lease``."""
    return str(value).replace("_", " ")
