"""The engine task page's links into code health: the repository of the finding, scan or
auto-PR that opened a task."""

from __future__ import annotations

from collections.abc import Iterable

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
