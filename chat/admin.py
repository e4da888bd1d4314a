"""Chat's rows in the admin: machine-written, so read-only, for looking into a run."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from chat.models import ChatEvent, ChatMessage, ChatSession, ToolExecution


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    )
    list_filter = ("state", "mode", "stop_reason")
    list_select_related = ("owner",)
    search_fields = ("title", "owner__username")


@admin.register(ChatMessage)
class ChatMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "session", "run", "role", "name", "model", "cost", "created_at")
    list_filter = ("role",)
    list_select_related = ("session",)
    raw_id_fields = ("session",)


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


@admin.register(ChatEvent)
class ChatEventAdmin(ReadOnlyAdmin):
    list_display = ("session", "seq", "type", "created_at")
    list_filter = ("type",)
    list_select_related = ("session",)
    raw_id_fields = ("session",)
    show_full_result_count = False
