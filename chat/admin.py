"""Chat's rows in the admin: machine-written, so read-only, for looking into a run; what a
person does to a session (stop its run, archive it) goes through chat's services."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from chat.errors import ChatError
from chat.models import ChatEvent, ChatMessage, ChatSession, ToolExecution
from chat.services import set_archived, stop_run


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OriginFilter(admin.SimpleListFilter):
    """A person's sessions or the ones the engine started (no owner), as the chat page's list."""

    title = "started by"
    parameter_name = "origin"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("person", "a person"), ("system", "the system")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ChatSession]) -> Any:
        if self.value() in ("person", "system"):
            return queryset.filter(owner__isnull=self.value() == "system")
        return queryset


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "in the list"), ("yes", "archived")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ChatSession]) -> Any:
        if self.value() in ("yes", "no"):
            return queryset.filter(archived_at__isnull=self.value() == "no")
        return queryset


@admin.register(ChatSession)
class ChatSessionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "title",
        "owner",
        "mode",
        "state",
        "stop_reason",
        "run_number",
        "updated_at",
        "archived",
    )
    list_filter = (
        "state",
        "mode",
        "stop_reason",
        OriginFilter,
        ArchivedFilter,
    )
    list_select_related = ("owner",)
    search_fields = ("=id", "title", "owner__username")
    actions = ("stop_selected", "archive_selected", "unarchive_selected")

    @admin.display(boolean=True, description="Archived", ordering="archived_at")
    def archived(self, session: ChatSession) -> bool:
        return session.archived_at is not None

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("chat.change_chatsession")

    @admin.action(permissions=["act"], description="Stop the selected sessions' runs")
    def stop_selected(self, request: HttpRequest, queryset: QuerySet[ChatSession]) -> None:
        person = cast(User, request.user)  # the admin lets only a signed-in person this far
        self._each(request, queryset, "Stopped", lambda pk: stop_run(session_id=pk, user=person))

    @admin.action(permissions=["act"], description="Archive the selected sessions")
    def archive_selected(self, request: HttpRequest, queryset: QuerySet[ChatSession]) -> None:
        self._each(
            request, queryset, "Archived", lambda pk: set_archived(session_id=pk, archived=True)
        )

    @admin.action(permissions=["act"], description="Bring the selected sessions back (unarchive)")
    def unarchive_selected(self, request: HttpRequest, queryset: QuerySet[ChatSession]) -> None:
        self._each(
            request, queryset, "Unarchived", lambda pk: set_archived(session_id=pk, archived=False)
        )

    def _each(
        self, request: HttpRequest, queryset: QuerySet[ChatSession], done: str, act: Any
    ) -> None:
        count, refused = 0, []
        for pk in queryset.values_list("pk", flat=True):
            try:
                act(pk)
                count += 1
            except ChatError as exc:
                refused.append(f"#{pk}: {exc}")
        self.message_user(request, f"{done} {count} session(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "; ".join(refused), messages.WARNING)


@admin.register(ChatMessage)
class ChatMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "session", "run", "role", "name", "model", "cost", "created_at")
    list_filter = ("role", "model")
    list_select_related = ("session",)
    raw_id_fields = ("session",)
    search_fields = ("=session__id", "content", "name")
    show_full_result_count = False


@admin.register(ToolExecution)
class ToolExecutionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "session",
        "run",
        "tool",
        "state",
        "retry_number",
        "duration_ms",
        "started_at",
    )
    list_filter = ("state", "tool")
    list_select_related = ("session",)
    raw_id_fields = ("session", "approval_task")
    search_fields = ("=session__id", "tool")
    show_full_result_count = False


@admin.register(ChatEvent)
class ChatEventAdmin(ReadOnlyAdmin):
    list_display = ("session", "seq", "type", "created_at")
    list_filter = ("type",)
    list_select_related = ("session",)
    raw_id_fields = ("session",)
    search_fields = ("=session__id",)
    show_full_result_count = False
