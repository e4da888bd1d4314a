"""The engine task page's links into code health: the repository of the finding, scan or
auto-PR that opened a task.

And the actions on a finding's row that apps above offer, the engine's seam's shape: an app
registers, in its ``AppConfig.ready()``, a function that reads a finding and answers the
actions it knows (a button posting to its own page); the row shows those the person may do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from codehealth.models import AutoPR, Finding, Scan
from engine.links import TaskLink, ref_id
from engine.models import Task

SOURCES: dict[str, tuple[type[Finding | Scan | AutoPR], str]] = {
    "finding": (Finding, "Finding"),
    "scan": (Scan, "Scan"),
    "autopr": (AutoPR, "Auto-PR"),
}


def task_links(task: Task) -> Iterable[TaskLink]:
    for prefix, (model, word) in SOURCES.items():
        pk = ref_id(task, prefix)
        if pk is None:
            continue
        row = model._default_manager.select_related("repository").filter(pk=pk).first()
        if row is not None:
            url = reverse("codehealth:repository", args=[row.repository.name])
            yield TaskLink(f"{word} #{pk} in {row.repository.name}", url)


@dataclass(frozen=True)
class FindingAction:
    label: str  # the button, e.g. "Escalate"
    url: str  # answers a POST (with `next`, where to come back to)
    permission: str = ""  # shown only to a person who holds it
    title: str = ""  # the button's tooltip


FindingActions = Callable[[Finding], Iterable[FindingAction]]

_finding_actions: dict[str, FindingActions] = {}


def register_finding_actions(app: str, actions: FindingActions) -> None:
    """One function per app; registering again replaces it (ready() may run twice in tests)."""
    _finding_actions[app] = actions


def finding_actions(finding: Finding, user: Any) -> list[FindingAction]:
    return [
        action
        for actions in _finding_actions.values()
        for action in actions(finding)
        if not action.permission or user.has_perm(action.permission)
    ]
