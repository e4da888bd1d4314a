"""The engine task page's links into self-heal: the execution that opened a task, and the
executions whose repairs changed it (their actions name it as ``engine.task#<id>``)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from engine.links import TaskLink
from engine.models import Task
from selfheal.models import RepairAction
from selfheal.rows import target_label


def execution_url(execution_id: int) -> str:
    return f"{reverse('selfheal:page')}?execution={execution_id}"


def task_links(task: Task) -> Iterable[TaskLink]:
    head, _, number = task.source_ref.rpartition(":")
    if head == "selfheal:execution" and number.isdigit():
        yield TaskLink(f"Self-heal execution #{number}", execution_url(int(number)))
    acted = (
        RepairAction.objects.filter(target=target_label(task))
        .values_list("execution_id", flat=True)
        .distinct()
        .order_by("execution_id")[:20]
    )
    for execution_id in acted:
        yield TaskLink(
            f"Changed by self-heal execution #{execution_id}", execution_url(execution_id)
        )
