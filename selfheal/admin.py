"""The operator's console for self-heal: executions are read-only records; rules are edited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from engine.services.errors import EngineError
from selfheal.models import (
    AutoHealRule,
    ExecutionState,
    Finding,
    PlaybookExecution,
    RepairAction,
    Snapshot,
)
from selfheal.services import actor_for, may_revert, revert_execution

REVERT_MESSAGE_LEVEL: dict[str, int] = {
    ExecutionState.PARTIAL: messages.WARNING,
    ExecutionState.FAILED: messages.ERROR,
}


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FindingInline(ReadOnlyInline):
    model = Finding
    fields = ("phase", "check_name", "severity", "message", "suggestion", "evidence", "duration_ms")


class RepairActionInline(ReadOnlyInline):
    model = RepairAction
    fields = ("step", "status", "what", "why", "target", "before", "after", "bound", "actor")


class SnapshotInline(ReadOnlyInline):
    model = Snapshot
    fields = (
        "model_label",
        "object_pk",
        "operation",
        "restore_status",
        "restore_note",
        "restored_at",
    )


@admin.register(PlaybookExecution)
class PlaybookExecutionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "id",
        "playbook",
        "dry_run",
        "state_shown",
        "worst_severity",
        "triggered_by",
        "budget_spent",
        "started_at",
        "finished_at",
        "reverted_at",
        "revert_state",
    )
    list_filter = (
        "playbook",
        "state",
        "dry_run",
        "worst_severity",
        "budget_spent",
        "revert_state",
        "rule",
    )
    search_fields = ("=id", "triggered_by", "summary", "reason")
    list_select_related = ("rule",)
    show_full_result_count = False
    inlines = [FindingInline, RepairActionInline, SnapshotInline]
    actions = ["revert_selected"]
    readonly_fields = [field.name for field in PlaybookExecution._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlaybookExecution]:
        return super().get_queryset(request).with_restore_facts()  # type: ignore[attr-defined]

    @admin.display(description="State", ordering="state")
    def state_shown(self, execution: PlaybookExecution) -> str:
        return execution.state_label

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_revert_permission(self, request: HttpRequest) -> bool:
        return may_revert(request.user)

    @admin.action(permissions=["revert"], description="Revert the selected executions")
    def revert_selected(self, request: HttpRequest, queryset: QuerySet[PlaybookExecution]) -> None:
        for execution in queryset:
            try:
                revert = revert_execution(
                    execution_id=execution.pk, triggered_by=actor_for(request.user)
                )
            except EngineError as exc:
                self.message_user(request, f"#{execution.pk}: {exc}", messages.WARNING)
                continue
            # A revert that left rows is no success: it says which rows, and why.
            level = REVERT_MESSAGE_LEVEL.get(revert.state, messages.SUCCESS)
            text = revert.error or revert.summary
            self.message_user(
                request, f"#{execution.pk}: revert #{revert.pk} {revert.state}: {text}", level
            )


@admin.register(AutoHealRule)
class AutoHealRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "check_name",
        "min_severity",
        "playbook",
        "dry_run",
        "cooldown_minutes",
        "max_runs_per_hour",
        "enabled",
    )
    list_editable = ("enabled",)
    list_filter = ("enabled", "check_name", "playbook", "min_severity", "dry_run")
    search_fields = ("name", "check_name")


@admin.register(RepairAction)
class RepairActionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every row a playbook changed (or would have): which repair touched `engine.task#40`."""

    list_display = ("created_at", "execution", "step", "status", "target", "what", "actor")
    list_filter = ("step", "status", "execution__playbook")
    search_fields = ("=target", "target", "what", "actor")
    list_select_related = ("execution",)
    show_full_result_count = False
    readonly_fields = [field.name for field in RepairAction._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit trail
