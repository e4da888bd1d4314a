"""The engine in the admin: an operator's console over tasks, workers, history and tokens.

State changes go through `engine.services`, never through a form field, so that every change
leaves its history row; machine-written tables are read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from engine.models import ApiToken, JobLock, Task, TaskEvent, Worker, WorkerState
from engine.services import (
    EngineError,
    approve_task,
    cancel_task,
    reject_task,
    retry_task,
    revoke_api_tokens,
    set_worker_state,
)
from engine.services.history import user_actor

# The admin classes are generic only to the type checker; at run time they take no parameters.
if TYPE_CHECKING:
    TaskEventInlineBase = admin.TabularInline[TaskEvent, Task]
    TaskAdminBase = admin.ModelAdmin[Task]
    WorkerAdminBase = admin.ModelAdmin[Worker]
    TaskEventAdminBase = admin.ModelAdmin[TaskEvent]
    ApiTokenAdminBase = admin.ModelAdmin[ApiToken]
    JobLockAdminBase = admin.ModelAdmin[JobLock]
else:
    TaskEventInlineBase = admin.TabularInline
    TaskAdminBase = WorkerAdminBase = TaskEventAdminBase = admin.ModelAdmin
    ApiTokenAdminBase = JobLockAdminBase = admin.ModelAdmin


def apply_to_each(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    ids: Iterable[int],
    act: Callable[[int], object],
    past: str,
) -> None:
    """Run `act` on each id on its own, then report what worked and what was refused."""
    done: list[int] = []
    refused: list[str] = []
    for pk in ids:
        try:
            act(pk)
        except EngineError as exc:
            refused.append(f"#{pk}: {exc}")
        else:
            done.append(pk)
    if done:
        listed = ", ".join(f"#{pk}" for pk in done)
        model_admin.message_user(request, f"{past} {len(done)}: {listed}.", messages.SUCCESS)
    if refused:
        model_admin.message_user(
            request, f"Refused {len(refused)}: {'; '.join(refused)}.", messages.WARNING
        )


def admin_user(request: HttpRequest) -> User:
    # The admin only lets signed-in staff in; this satisfies the types.
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


class ReadOnlyAdminMixin:
    """For tables that only the machine writes: viewable, never added to or edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TaskEventInline(ReadOnlyAdminMixin, TaskEventInlineBase):
    model = TaskEvent
    extra = 0
    fields = ("created_at", "from_state", "to_state", "actor", "note")
    readonly_fields = fields
    ordering = ("created_at", "id")


class SaveOnlyEditedFields:
    """The admin saves only the fields the form changed: a whole-row save would write back
    the state, lease and attempts as they were when the form was opened, undoing a claim or
    a completion that happened meanwhile, with no history row."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.save()
            return
        fields = list(form.changed_data)
        if not fields:
            return
        if any(field.name == "updated_at" for field in obj._meta.concrete_fields):
            fields.append("updated_at")
        obj.save(update_fields=fields)


@admin.register(Task)
class TaskAdmin(SaveOnlyEditedFields, TaskAdminBase):
    list_display = (
        "id",
        "title",
        "state",
        "kind",
        "priority",
        "attempts",
        "lease_worker",
        "source",
        "created_at",
    )
    list_display_links = ("id", "title")
    list_filter = ("state", "kind", "source")
    search_fields = ("title", "kind", "dedupe_key")
    list_select_related = ("lease_worker",)
    # A COUNT(*) over a million rows on every changelist view is not worth the number,
    # nor is one per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    inlines = (TaskEventInline,)
    actions = ("approve_selected", "reject_selected", "requeue_selected", "cancel_selected")
    readonly_fields = (
        "state",
        "kind",
        "payload",
        "dedupe_key",
        "attempts",
        "run_after",
        "lease_worker",
        "lease_expires_at",
        "started_at",
        "result",
        "last_error",
        "approval_reason",
        "approval_requested_at",
        "approval_decision",
        "decided_by",
        "decided_at",
        "source",
        "source_ref",
        "created_by",
        "created_at",
        "updated_at",
        "finished_at",
        # A dependency changes what may run: only the services set it, with a history row.
        "blocked_by",
    )
    fieldsets = (
        (None, {"fields": ("title", "kind", "state", "priority", "payload", "dedupe_key")}),
        (
            "Attempts",
            {"fields": ("attempts", "max_attempts", "timeout_seconds", "run_after", "blocked_by")},
        ),
        ("Lease", {"fields": ("lease_worker", "lease_expires_at", "started_at")}),
        ("Outcome", {"fields": ("result", "last_error", "finished_at")}),
        (
            "Approval",
            {
                "fields": (
                    "approval_reason",
                    "approval_requested_at",
                    "approval_decision",
                    "decided_by",
                    "decided_at",
                )
            },
        ),
        ("Origin", {"fields": ("source", "source_ref", "created_by", "created_at", "updated_at")}),
    )

    def view_on_site(self, task: Task) -> str:
        return reverse("engine:task", args=[task.pk])

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tasks are created by `create_task` (API, chat, apps) so their history starts right.
        return False

    @admin.action(description="Approve selected tasks")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        user = admin_user(request)
        ids = queryset.values_list("pk", flat=True)
        apply_to_each(
            self, request, ids, lambda pk: approve_task(task_id=pk, user=user), "Approved"
        )

    @admin.action(description="Reject selected tasks (they are cancelled)")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        user = admin_user(request)
        ids = queryset.values_list("pk", flat=True)
        apply_to_each(self, request, ids, lambda pk: reject_task(task_id=pk, user=user), "Rejected")

    @admin.action(description="Requeue (retry) selected tasks")
    def requeue_selected(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        user = admin_user(request)
        ids = queryset.values_list("pk", flat=True)
        apply_to_each(self, request, ids, lambda pk: retry_task(task_id=pk, user=user), "Requeued")

    @admin.action(description="Cancel selected tasks")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        user = admin_user(request)
        ids = queryset.values_list("pk", flat=True)
        apply_to_each(
            self, request, ids, lambda pk: cancel_task(task_id=pk, user=user), "Cancelled"
        )


@admin.register(Worker)
class WorkerAdmin(SaveOnlyEditedFields, WorkerAdminBase):
    list_display = (
        "name",
        "state",
        "capability_list",
        "max_concurrency",
        "heartbeat",
        "builtin",
        "shared",
        "registered_by",
        "created_at",
    )
    list_filter = ("state", "builtin", "shared")
    search_fields = ("name",)
    list_select_related = ("registered_by",)
    # `shared` is edited here: a shared worker claims everyone's tasks (docs/security.md).
    fields = (
        "name",
        "state",
        "capabilities",
        "max_concurrency",
        "shared",
        "last_heartbeat_at",
        "builtin",
        "registered_by",
        "created_at",
    )
    # State changes through the actions (drain, online, offline), which call the services.
    readonly_fields = (
        "name",
        "state",
        "last_heartbeat_at",
        "builtin",
        "registered_by",
        "created_at",
    )
    actions = ("drain_selected", "mark_online_selected", "mark_offline_selected")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Workers register through the API (or `run_worker`), which issues their token.
        return False

    @admin.display(description="capabilities")
    def capability_list(self, worker: Worker) -> str:
        return ", ".join(worker.capabilities or []) or "—"

    @admin.display(description="last heartbeat", ordering="last_heartbeat_at")
    def heartbeat(self, worker: Worker) -> str:
        age = worker.heartbeat_age()
        if age is None:
            return "never"
        text = f"{timesince(worker.last_heartbeat_at)} ago" if worker.last_heartbeat_at else ""
        late = age.total_seconds() > settings.ENGINE_HEARTBEAT_GRACE_SECONDS
        if late and worker.state != WorkerState.OFFLINE:
            return format_html('<strong style="color:#b54708">{} (late)</strong>', text)
        return text

    def set_state(
        self, request: HttpRequest, queryset: QuerySet[Worker], state: WorkerState
    ) -> None:
        actor = user_actor(admin_user(request))
        workers = list(queryset)
        ended: list[int] = []
        for worker in workers:
            ended += set_worker_state(worker=worker, state=state, actor=actor).ended_task_ids
        self.message_user(request, f"{len(workers)} worker(s) now {state.label.lower()}.")
        if ended:
            listed = ", ".join(f"#{pk}" for pk in ended)
            self.message_user(
                request,
                f"Ended the attempt of the tasks they were running, to be retried "
                f"(or failed, if it was their last): {listed}.",
            )

    @admin.action(
        permissions=["change"],
        description="Drain selected workers (finish current work, claim nothing)",
    )
    def drain_selected(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        self.set_state(request, queryset, WorkerState.DRAINING)

    @admin.action(permissions=["change"], description="Mark selected workers online")
    def mark_online_selected(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        self.set_state(request, queryset, WorkerState.ONLINE)

    @admin.action(permissions=["change"], description="Mark selected workers offline")
    def mark_offline_selected(self, request: HttpRequest, queryset: QuerySet[Worker]) -> None:
        self.set_state(request, queryset, WorkerState.OFFLINE)


@admin.register(TaskEvent)
class TaskEventAdmin(ReadOnlyAdminMixin, TaskEventAdminBase):
    """History is the audit trail: it is read here and goes only with its task."""

    list_display = ("created_at", "task", "from_state", "to_state", "actor", "note")
    list_filter = ("to_state", "from_state")
    search_fields = ("=task__id", "actor", "note")
    list_select_related = ("task",)
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ("task", "created_at", "from_state", "to_state", "actor", "note", "data")
    readonly_fields = fields


@admin.register(ApiToken)
class ApiTokenAdmin(ApiTokenAdminBase):
    list_display = ("prefix_shown", "name", "user", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked")
    readonly_fields = ("user", "prefix", "created_at", "last_used_at", "revoked")
    actions = ("revoke_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token is shown once, when it is made; the admin could not show it.
        return False

    @admin.display(description="token", ordering="prefix")
    def prefix_shown(self, token: ApiToken) -> str:
        return f"{token.prefix}…"

    @admin.action(permissions=["change"], description="Revoke selected tokens")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = revoke_api_tokens(token_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(JobLock)
class JobLockAdmin(ReadOnlyAdminMixin, JobLockAdminBase):
    list_display = ("name", "holder", "expires_at", "held")

    @admin.display(boolean=True, description="held now")
    def held(self, lock: JobLock) -> bool:
        return lock.expires_at > timezone.now()
