"""Where a task leads: the pages of the things it came from or is about.

The engine knows a task's `source_ref` and payload but not the apps that wrote them. An app
registers, in its ``AppConfig.ready()``, a function that reads a task and answers the links
it knows (its own pages); the task page shows them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.models import Task


@dataclass(frozen=True)
class TaskLink:
    label: str  # e.g. "Chat session #12"
    url: str
    # The linked thing's state when the task's own state would mislead without it (an alert
    # still firing beside a task that is done), with a badge class: "st-<badge>".
    state: str = ""
    badge: str = ""


TaskLinker = Callable[[Task], Iterable[TaskLink]]

_linkers: dict[str, TaskLinker] = {}


def register_task_links(app: str, linker: TaskLinker) -> None:
    """One linker per app; registering again replaces it (ready() may run twice in tests)."""
    _linkers[app] = linker


def ref_id(task: Task, prefix: str) -> int | None:
    """The number in a `source_ref` like ``alert:12`` when it has this prefix."""
    head, _, number = task.source_ref.rpartition(":")
    if head != prefix or not number.isdigit():
        return None
    return int(number)


def task_links(task: Task) -> list[TaskLink]:
    return [link for linker in _linkers.values() for link in linker(task)]
