"""Run by the contract scanner in a checkout, with this server's interpreter: loads the
scanned Django project (its settings module given on stdin) and answers, with Django's own
URL resolver and drf-spectacular's schema generator, how each of the JavaScript's calls
lands. Prints one JSON object. Imports nothing from Juggernaut: it runs inside the scanned
project, whose code may be anything.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

SAMPLE_VALUES = ("1", "x")
_PARAMETER = re.compile(r"\{[^/}]+\}")


def _view_class(callback: Any) -> Any:
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def _allowed(callback: Any) -> list[str] | None:
    """The methods the view answers, or None when Django cannot tell (a function view)."""
    actions = getattr(callback, "actions", None)
    if isinstance(actions, dict):
        return sorted({m.upper() for m in actions} | {"OPTIONS"})
    view = _view_class(callback)
    if view is None:
        return None
    names = getattr(view, "http_method_names", [])
    return sorted(m.upper() for m in names if hasattr(view, m))


def _is_api(callback: Any) -> bool:
    view = _view_class(callback)
    try:
        from rest_framework.views import APIView
    except ImportError:
        return False
    return isinstance(view, type) and issubclass(view, APIView)


def _schema_operations() -> dict[str, list[str]] | None:
    try:
        from drf_spectacular.generators import SchemaGenerator
    except ImportError:
        return None
    generator: Any = SchemaGenerator  # untyped: the scanned project's installed version
    schema = generator().get_schema(request=None, public=True)
    return {
        path: sorted(m.upper() for m in item if m in ("get", "post", "put", "patch", "delete"))
        for path, item in (schema or {}).get("paths", {}).items()
    }


def _documented(path: str, method: str, operations: dict[str, list[str]]) -> bool:
    for template, methods in operations.items():
        pattern = "[^/]+".join(re.escape(piece) for piece in _PARAMETER.split(template))
        if re.fullmatch(pattern, path) and method in methods:
            return True
    return False


def main() -> None:
    request = json.load(sys.stdin)
    sys.path.insert(0, str(Path.cwd()))
    os.environ["DJANGO_SETTINGS_MODULE"] = request["settings"]
    import django
    from django.urls import Resolver404, resolve

    django.setup()
    operations = _schema_operations() if request.get("schema") else None
    answers = []
    for call in request["calls"]:
        answer: dict[str, Any] = {"resolved": False}
        for value in SAMPLE_VALUES:
            path = call["path"].replace("{}", value)
            try:
                match = resolve(path)
            except Resolver404:
                continue
            answer = {
                "resolved": True,
                "route": match.route,
                "view": match.view_name,
                "allowed": _allowed(match.func),
                "api": _is_api(match.func),
                "documented": (
                    _documented(path, call["method"], operations)
                    if operations is not None
                    else None
                ),
            }
            break
        answers.append(answer)
    json.dump({"calls": answers, "schema": operations is not None}, sys.stdout)


if __name__ == "__main__":
    main()
