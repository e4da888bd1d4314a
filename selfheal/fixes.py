"""What a repair opens for a recurring error pattern: by default an engine fix task (one
per pattern, by its dedupe key). The seam: an app above registers, in its
``AppConfig.ready()``, one opener that routes the pattern to its own work instead (the
incidents app: the pattern's incident and its investigation), as the log crawler's
alert-task opener does for alerts.

An opener answers the row it made or found and whether it made it; a row found is left
alone by the repair ("already open as ..."), a row made is the repair's, undone by a revert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from engine.services import create_task
from selfheal.error_patterns import ErrorPattern

FixOpener = Callable[[ErrorPattern, dict[str, Any]], tuple[models.Model, bool]]

_fix_opener: list[FixOpener] = []


def register_fix_opener(opener: FixOpener) -> None:
    _fix_opener[:] = [opener]


def open_fix(pattern: ErrorPattern, values: dict[str, Any]) -> tuple[models.Model, bool]:
    """Inside the repair's transaction; `values` are the engine fix task's `create_task`
    arguments (its payload names the pattern and the execution)."""
    if _fix_opener:
        return _fix_opener[0](pattern, values)
    created = create_task(**values)
    return created.task, created.created
