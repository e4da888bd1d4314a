"""The Engine page, its live fragment, the task page and the buttons on them.

Every query here is bounded: one GROUP BY for the counts, indexed LIMITed reads for the
rest, so the page costs the same on ten tasks as on a million.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine.forms import ApproveForm, Cursor, NewTaskForm, TaskListFilter
from engine.links import task_links
from engine.models import FINISHED_STATES, Task, TaskState, Worker, WorkerState
from engine.services import (
    EngineError,
    TaskNotFound,
    approve_task,
    cancel_task,
    create_task,
    reject_task,
    retry_task,
)
from engine.services.access import Decision, may_decide

RECENT_PAGE_SIZE = 50
APPROVALS_SHOWN = 50
WORKERS_SHOWN = 200
REFRESH_SECONDS = 5
LARGE_FIELDS = ("payload", "result", "last_error")


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int
    percent: float
    estimated: bool = False


@dataclass(frozen=True)
class WorkerRow:
    worker: Worker
    running: int
    heartbeat_age: str
    late: bool


@dataclass(frozen=True)
class ApprovalRow:
    task: Task
    waiting_for: str
    decidable: bool  # the user may decide it (docs/security.md): the buttons are shown


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    older: str | None
    newer: str | None


def compact_duration(delta: timedelta) -> str:
    """'42s', '4m 03s', '2h 05m', '3d 04h': short enough for a table cell."""
    seconds = max(int(delta.total_seconds()), 0)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if days:
        return f"{days}d {hrs:02d}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def state_counts() -> list[StateCount]:
    result = Task.objects.dashboard_counts()
    counts = result.counts
    largest = max(counts.values(), default=0) or 1
    rows = []
    for state in TaskState:
        count = counts[state.value]
        estimated = state.value in result.estimated
        rows.append(StateCount(state.value, state.label, count, 100 * count / largest, estimated))
    return rows


def worker_rows(now: datetime) -> list[WorkerRow]:
    grace = timedelta(seconds=settings.ENGINE_HEARTBEAT_GRACE_SECONDS)
    workers = Worker.objects.with_running_count().online_first()[:WORKERS_SHOWN]
    rows = []
    for worker in workers:
        age = worker.heartbeat_age(now)
        rows.append(
            WorkerRow(
                worker=worker,
                running=cast(Any, worker).running_count,  # from with_running_count()
                heartbeat_age="never" if age is None else compact_duration(age),
                # An offline worker is expected to be silent; only a live one can be late.
                late=worker.state != WorkerState.OFFLINE and (age is None or age > grace),
            )
        )
    return rows


def approval_rows(now: datetime, user: Any) -> list[ApprovalRow]:
    waiting = (
        Task.objects.visible_to(user).awaiting_approval().defer(*LARGE_FIELDS)[:APPROVALS_SHOWN]
    )
    return [
        ApprovalRow(
            task,
            compact_duration(now - (task.approval_requested_at or task.created_at)),
            decidable=may_decide(task, user, Decision.REJECT),
        )
        for task in waiting
    ]


def overview_context(now: datetime, return_to: str, user: Any) -> dict[str, Any]:
    """What the live part of the Engine page shows; re-rendered every few seconds."""
    counts = state_counts()
    oldest = Task.objects.defer(*LARGE_FIELDS).oldest_pending()
    workers = worker_rows(now)
    return {
        "now": now,
        "return_to": return_to,
        "state_counts": counts,
        "waiting_total": sum(c.count for c in counts if c.state == TaskState.WAITING_APPROVAL),
        "unfinished_total": sum(c.count for c in counts if c.state not in FINISHED_STATES),
        "oldest_pending": oldest,
        "oldest_pending_age": compact_duration(now - oldest.created_at) if oldest else None,
        "approvals": approval_rows(now, user),
        "approvals_shown": APPROVALS_SHOWN,
        "workers": workers,
        "workers_online": sum(row.worker.state == WorkerState.ONLINE for row in workers),
        "workers_shown": WORKERS_SHOWN,
        "grace_seconds": settings.ENGINE_HEARTBEAT_GRACE_SECONDS,
    }


def live_context(request: HttpRequest) -> dict[str, Any]:
    """The overview for the filter the operator is looking at, to come back to after a button."""
    query = request.GET.urlencode()
    context = overview_context(
        timezone.now(),
        return_to=reverse("engine:page") + (f"?{query}" if query else ""),
        user=request.user,
    )
    context["state_filter"] = request.GET.get("state", "")
    return context


def recent_tasks(state: str, before: Cursor | None, after: Cursor | None, *, user: Any) -> TaskPage:
    """One page of tasks, newest first, by keyset: no OFFSET and no COUNT over the table."""
    tasks = Task.objects.visible_to(user).for_listing()
    if state:
        tasks = tasks.filter(state=state)
    if after is not None:
        rows = list(
            tasks.newer_than(after.created_at, after.pk).order_by("created_at", "id")[
                : RECENT_PAGE_SIZE + 1
            ]
        )
        has_newer, rows = len(rows) > RECENT_PAGE_SIZE, rows[:RECENT_PAGE_SIZE][::-1]
        has_older = True
    else:
        if before is not None:
            tasks = tasks.older_than(before.created_at, before.pk)
        rows = list(tasks.order_by("-created_at", "-id")[: RECENT_PAGE_SIZE + 1])
        has_older, rows = len(rows) > RECENT_PAGE_SIZE, rows[:RECENT_PAGE_SIZE]
        has_newer = before is not None
    return TaskPage(
        tasks=rows,
        older=Cursor.of(rows[-1]).encode() if rows and has_older else None,
        newer=Cursor.of(rows[0]).encode() if rows and has_newer else None,
    )


def listing_context(request: HttpRequest, listing: TaskListFilter) -> dict[str, Any]:
    """The live part with the Recent tasks page the operator asked for (a valid `listing`)."""
    state = listing.cleaned_data["state"]
    context = live_context(request)
    context.update(
        listing=listing,
        state_filter=state,
        state_filter_label=TaskState(state).label if state else "",
        recent=recent_tasks(
            state,
            listing.cleaned_data["before"],
            listing.cleaned_data["after"],
            user=request.user,
        ),
    )
    return context


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    listing = TaskListFilter(request.GET)
    if not listing.is_valid():
        raise BadRequest(f"Not a filter of this list: {', '.join(sorted(listing.errors))}.")
    context = listing_context(request, listing)
    context.update(
        refresh_seconds=REFRESH_SECONDS,
        live_config={"url": reverse("engine:live"), "interval_ms": REFRESH_SECONDS * 1000},
    )
    return render(request, "engine/page.html", context)


@require_GET
def live(request: HttpRequest) -> HttpResponse:
    listing = TaskListFilter(request.GET)
    if not listing.is_valid():
        raise BadRequest(f"Not a filter of this list: {', '.join(sorted(listing.errors))}.")
    return render(request, "engine/_live.html", listing_context(request, listing))


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@require_GET
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    related = ("lease_worker", "decided_by", "created_by", "blocked_by")
    visible = Task.objects.visible_to(request.user)
    task = get_object_or_404(visible.select_related(*related), pk=task_id)
    context = {
        "task": task,
        "events": list(task.events.all()),
        "payload_json": pretty_json(task.payload),
        "result_json": None if task.result is None else pretty_json(task.result),
        "can_cancel": not task.is_finished and may_decide(task, request.user, Decision.CANCEL),
        "can_retry": task.state in (TaskState.FAILED, TaskState.CANCELLED)
        and may_decide(task, request.user, Decision.RETRY),
        "can_decide": task.state == TaskState.WAITING_APPROVAL
        and may_decide(task, request.user, Decision.REJECT),
        "links": task_links(task),
    }
    return render(request, "engine/task_detail.html", context)


@require_http_methods(["GET", "POST"])
def new_task(request: HttpRequest) -> HttpResponse:
    """A task made by hand, as the API makes one (source user, created by the operator)."""
    form = NewTaskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = create_task(**form.cleaned_data, created_by=operator(request))
        messages.success(request, f"Created task #{created.task.pk} “{created.task.title}”.")
        return redirect("engine:task", created.task.pk)
    return render(request, "engine/new_task.html", {"form": form})


def operator(request: HttpRequest) -> User:
    # The login middleware already turned anonymous visitors away; this satisfies the types.
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("engine:page")


def task_action(
    request: HttpRequest, task_id: int, act: Callable[[], Task], verb: str, past: str
) -> HttpResponse:
    """Run one service call; a refused transition becomes a message, never a 500."""
    if not Task.objects.visible_to(request.user).filter(pk=task_id).exists():
        raise Http404("No such task.")
    try:
        task = act()
    except TaskNotFound:
        raise Http404("No such task.") from None
    except EngineError as exc:
        messages.error(request, f"Could not {verb} task #{task_id}: {exc}.")
    else:
        messages.success(
            request, f"{past} task #{task.pk} “{task.title}”: now {task.get_state_display()}."
        )
    return redirect(back(request))


@require_POST
def approve(request: HttpRequest, task_id: int) -> HttpResponse:
    user = operator(request)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Could not approve task #{task_id}: the kind is too long.")
        return redirect(back(request))
    reroute = form.cleaned_data["reroute_kind"]
    act = partial(approve_task, task_id=task_id, user=user, reroute_kind=reroute)
    return task_action(request, task_id, act, "approve", "Approved")


@require_POST
def reject(request: HttpRequest, task_id: int) -> HttpResponse:
    user = operator(request)
    act = partial(reject_task, task_id=task_id, user=user)
    return task_action(request, task_id, act, "reject", "Rejected")


@require_POST
def cancel(request: HttpRequest, task_id: int) -> HttpResponse:
    act = partial(cancel_task, task_id=task_id, user=operator(request))
    return task_action(request, task_id, act, "cancel", "Cancelled")


@require_POST
def retry(request: HttpRequest, task_id: int) -> HttpResponse:
    act = partial(retry_task, task_id=task_id, user=operator(request))
    return task_action(request, task_id, act, "retry", "Retried")
