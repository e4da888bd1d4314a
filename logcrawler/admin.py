"""The log crawler in the admin: sources and rules are edited; entries, fingerprints,
alerts and batches are written by the machine and only acted on through actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property

from engine.admin import ReadOnlyAdminMixin
from engine.permissions import has_permission
from engine.services import EngineError
from logcrawler.models import (
    OPEN_ALERT_STATES,
    Alert,
    AlertRule,
    ErrorFingerprint,
    IngestBatch,
    LogEntry,
    LogSource,
)
from logcrawler.services import crawl_source_once, may_change_state, set_fingerprint_state
from logcrawler.services.alerts import resolve
from logcrawler.sources import SourceError, adapter_class

if TYPE_CHECKING:
    LogSourceAdminBase = admin.ModelAdmin[LogSource]
    LogEntryAdminBase = admin.ModelAdmin[LogEntry]
    FingerprintAdminBase = admin.ModelAdmin[ErrorFingerprint]
    AlertRuleAdminBase = admin.ModelAdmin[AlertRule]
    AlertAdminBase = admin.ModelAdmin[Alert]
    IngestBatchAdminBase = admin.ModelAdmin[IngestBatch]
else:
    LogSourceAdminBase = LogEntryAdminBase = FingerprintAdminBase = admin.ModelAdmin
    AlertRuleAdminBase = AlertAdminBase = IngestBatchAdminBase = admin.ModelAdmin

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Counts at most COUNT_CAP + 1 rows: a COUNT(*) over millions of entries per page
    view is not worth the exact number."""

    @cached_property
    def count(self) -> int:
        rows = cast(QuerySet[Any], self.object_list)
        return int(rows.order_by().values("pk")[: COUNT_CAP + 1].count())


class LogSourceForm(forms.ModelForm):  # type: ignore[type-arg]
    token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave blank to keep the stored token; never shown back.",
    )
    clear_token = forms.BooleanField(required=False, help_text="Remove the stored token.")

    class Meta:
        model = LogSource
        fields = ("name", "kind", "enabled", "settings")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        settings = cleaned.get("settings") or {}
        if kind and isinstance(settings, dict):
            try:
                errors = adapter_class(kind).settings_errors(settings)
            except SourceError as exc:
                errors = {"kind": str(exc)}
            if errors:
                raise forms.ValidationError(
                    {"settings": [f"{key}: {problem}" for key, problem in errors.items()]}
                )
        elif not isinstance(settings, dict):
            raise forms.ValidationError({"settings": "A JSON object."})
        return cleaned

    def save(self, commit: bool = True) -> LogSource:
        source = super().save(commit=False)
        if self.cleaned_data.get("clear_token"):
            source.secret = ""
        elif self.cleaned_data.get("token"):
            source.secret = self.cleaned_data["token"]
        if commit:
            source.save()
        return source


@admin.register(LogSource)
class LogSourceAdmin(LogSourceAdminBase):
    form = LogSourceForm
    list_display = (
        "name",
        "kind",
        "enabled",
        "status",
        "last_crawl_at",
        "last_crawl_lines",
        "lines_read",
        "has_token",
    )
    list_filter = ("kind", "enabled", "status")
    search_fields = ("name",)
    readonly_fields = (
        "has_token",
        "status",
        "status_detail",
        "last_error",
        "retry_after",
        "last_crawl_at",
        "last_success_at",
        "last_crawl_lines",
        "lines_read",
        "cursor",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "kind", "enabled", "settings")}),
        ("Token", {"fields": ("has_token", "token", "clear_token")}),
        ("Health", {"fields": readonly_fields[1:]}),
    )
    actions = ("crawl_selected", "reset_cursor")

    @admin.display(boolean=True, description="token")
    def has_token(self, source: LogSource) -> bool:
        return source.has_secret

    def has_crawl_permission(self, request: HttpRequest) -> bool:
        return has_permission(request.user, "logcrawler.crawl_logsource")

    @admin.action(permissions=["crawl"], description="Crawl now")
    def crawl_selected(self, request: HttpRequest, queryset: QuerySet[LogSource]) -> None:
        for source in queryset:
            report = crawl_source_once(source=source)
            level = messages.ERROR if report.status == "error" else messages.SUCCESS
            self.message_user(request, report.line(), level)

    @admin.action(permissions=["change"], description="Reset cursor (read again from the start)")
    def reset_cursor(self, request: HttpRequest, queryset: QuerySet[LogSource]) -> None:
        count = queryset.update(cursor={}, retry_after=None)
        self.message_user(request, f"Reset the cursor of {count} sources.", messages.SUCCESS)


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdminMixin, LogEntryAdminBase):
    list_display = ("ts", "level", "service", "short_message", "fingerprint_id", "source")
    list_filter = ("level", "source")
    # Exact matches only: each has an index; a LIKE over every entry would scan the table.
    search_fields = ("=fingerprint__id", "=service")
    list_select_related = ("source",)
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    list_per_page = 100

    @admin.display(description="message")
    def short_message(self, entry: LogEntry) -> str:
        return entry.message[:160]


def _act_on(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[ErrorFingerprint],
    action: str,
) -> None:
    done, refused = 0, []
    for fingerprint_id in queryset.values_list("id", flat=True):
        try:
            set_fingerprint_state(fingerprint_id=fingerprint_id, action=action, user=request.user)
            done += 1
        except EngineError as exc:
            refused.append(str(exc))
    if done:
        model_admin.message_user(request, f"{action.capitalize()}d {done}.", messages.SUCCESS)
    if refused:
        model_admin.message_user(request, "; ".join(refused), messages.WARNING)


@admin.register(ErrorFingerprint)
class ErrorFingerprintAdmin(FingerprintAdminBase):
    list_display = (
        "id",
        "short_template",
        "service",
        "kind",
        "level",
        "state",
        "total_count",
        "last_seen",
    )
    list_filter = ("state", "kind", "level")
    search_fields = ("id", "template", "service")
    list_select_related = ("task",)
    show_full_result_count = False
    ordering = ("-last_seen",)
    actions = ("acknowledge", "resolve", "mute", "unmute")
    exclude = ("group",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in ErrorFingerprint._meta.fields if field.name != "group"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="template")
    def short_template(self, fingerprint: ErrorFingerprint) -> str:
        return fingerprint.template[:120]

    @admin.action(description="Acknowledge")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[ErrorFingerprint]) -> None:
        _act_on(self, request, queryset, "acknowledge")

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return may_change_state(request.user, "resolve")

    def has_mute_permission(self, request: HttpRequest) -> bool:
        return may_change_state(request.user, "mute")

    @admin.action(
        permissions=["resolve"],
        description="Resolve (it regresses and alerts again if it comes back)",
    )
    def resolve(self, request: HttpRequest, queryset: QuerySet[ErrorFingerprint]) -> None:
        _act_on(self, request, queryset, "resolve")

    @admin.action(permissions=["mute"], description="Mute (never alert)")
    def mute(self, request: HttpRequest, queryset: QuerySet[ErrorFingerprint]) -> None:
        _act_on(self, request, queryset, "mute")

    @admin.action(permissions=["mute"], description="Unmute (alert again)")
    def unmute(self, request: HttpRequest, queryset: QuerySet[ErrorFingerprint]) -> None:
        _act_on(self, request, queryset, "unmute")


@admin.register(AlertRule)
class AlertRuleAdmin(AlertRuleAdminBase):
    list_display = ("name", "kind", "enabled", "service", "min_level", "severity", "create_task")
    list_filter = ("kind", "enabled", "severity", "create_task")
    search_fields = ("name", "service")
    list_editable = ("enabled",)
    fieldsets = (
        (None, {"fields": ("name", "kind", "enabled", "service", "severity")}),
        ("New fingerprint and spike", {"fields": ("min_level",)}),
        ("Spike", {"fields": ("window_minutes", "baseline_minutes", "factor", "min_count")}),
        ("Sustained 5xx", {"fields": ("threshold_share", "threshold_count", "for_minutes")}),
        ("Anti-flapping and actions", {"fields": ("hold_minutes", "create_task", "send_webhook")}),
    )


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, AlertAdminBase):
    list_display = (
        "id",
        "title",
        "state",
        "severity",
        "rule",
        "opened_at",
        "fired_at",
        "resolved_at",
        "task",
    )
    list_filter = ("state", "rule", "severity")
    list_select_related = ("rule", "task")
    search_fields = ("title", "subject")
    show_full_result_count = False
    actions = ("resolve_selected",)

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return may_change_state(request.user, "resolve")

    @admin.action(
        permissions=["resolve"], description="Resolve the alert (the rule may open a new one)"
    )
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        count = 0
        for alert in queryset.filter(state__in=OPEN_ALERT_STATES).select_related("rule"):
            resolve(alert, now=timezone.now(), detail=f"resolved by {request.user.get_username()}")
            count += 1
        self.message_user(request, f"Resolved {count} alerts.", messages.SUCCESS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IngestBatch)
class IngestBatchAdmin(ReadOnlyAdminMixin, IngestBatchAdminBase):
    list_display = ("key", "source", "accepted", "rejected", "created_at")
    list_filter = ("source",)
    search_fields = ("=key",)
    list_select_related = ("source",)
    show_full_result_count = False
