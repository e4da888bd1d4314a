"""Code health in the admin: repositories are edited here; scans, tool runs, findings and
auto-PRs are written by the machine and only acted on through actions (services)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from codehealth import (
    admin_reports,  # noqa: F401 (registers the weekly reports' admin)
    advisory_admin,  # noqa: F401 (registers the OSV data's admin)
)
from codehealth.models import (
    ACTIVE_STATES,
    AutoPR,
    Finding,
    FindingEvent,
    FindingOccurrence,
    Repository,
    Scan,
    ToolRun,
)
from codehealth.services import (
    accept_finding,
    create_finding_task,
    mark_false_positive,
    merge_autopr,
    reject_autopr,
    reopen_finding,
    start_scan,
)
from engine.admin import ReadOnlyAdminMixin, admin_user
from engine.services import EngineError
from engine.services.history import user_actor

if TYPE_CHECKING:
    RepositoryAdminBase = admin.ModelAdmin[Repository]
    ScanAdminBase = admin.ModelAdmin[Scan]
    ToolRunAdminBase = admin.ModelAdmin[ToolRun]
    FindingAdminBase = admin.ModelAdmin[Finding]
    OccurrenceAdminBase = admin.ModelAdmin[FindingOccurrence]
    AutoPRAdminBase = admin.ModelAdmin[AutoPR]
    ToolRunInlineBase = admin.TabularInline[ToolRun, Scan]
    FindingEventInlineBase = admin.TabularInline[FindingEvent, Finding]
else:
    RepositoryAdminBase = ScanAdminBase = ToolRunAdminBase = admin.ModelAdmin
    FindingAdminBase = OccurrenceAdminBase = AutoPRAdminBase = admin.ModelAdmin
    ToolRunInlineBase = FindingEventInlineBase = admin.TabularInline

ACCEPT_FOR = timedelta(days=90)


def each(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    rows: QuerySet[Any],
    act: Callable[[Any], object],
    past: str,
) -> None:
    """Run a service on each row; report what worked and what was refused, and why."""
    done, refused = 0, []
    for row in rows:
        try:
            act(row)
        except EngineError as exc:
            refused.append(f"#{row.pk}: {exc}")
        else:
            done += 1
    if done:
        model_admin.message_user(request, f"{past} {done}.", messages.SUCCESS)
    if refused:
        model_admin.message_user(request, "Refused " + "; ".join(refused), messages.WARNING)


class RepositoryForm(forms.ModelForm):  # type: ignore[type-arg]
    new_token = forms.CharField(
        label="Token",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave blank to keep the stored token; never shown back.",
    )
    clear_token = forms.BooleanField(required=False, help_text="Remove the stored token.")

    class Meta:
        model = Repository
        fields = (
            "name",
            "kind",
            "path",
            "github_name",
            "default_branch",
            "baseline_commit",
            "test_command",
            "test_timeout_seconds",
            "lint_extend_select",
            "scan_environment",
            "enabled",
        )

    def save(self, commit: bool = True) -> Repository:
        repository = super().save(commit=False)
        if self.cleaned_data.get("clear_token"):
            repository.token = ""
        elif self.cleaned_data.get("new_token"):
            repository.token = self.cleaned_data["new_token"]
        if commit:
            repository.save()
        return repository


@admin.register(Repository)
class RepositoryAdmin(RepositoryAdminBase):
    form = RepositoryForm
    list_display = (
        "name",
        "kind",
        "location",
        "default_branch",
        "enabled",
        "has_token",
        "open_findings",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name", "path", "github_name")
    readonly_fields = ("has_token", "created_at")
    actions = ("scan_now",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Repository]:
        return (
            super()
            .get_queryset(request)
            .annotate(open_count=Count("findings", filter=Q(findings__state__in=ACTIVE_STATES)))
        )

    @admin.display(description="open findings", ordering="open_count")
    def open_findings(self, repository: Repository) -> int:
        return int(getattr(repository, "open_count", 0))

    @admin.display(boolean=True, description="token")
    def has_token(self, repository: Repository) -> bool:
        return repository.has_token

    @admin.action(description="Scan now (a worker runs it)")
    def scan_now(self, request: HttpRequest, queryset: QuerySet[Repository]) -> None:
        user = admin_user(request)

        def scan(repository: Repository) -> object:
            return start_scan(repository=repository, actor=user_actor(user), created_by=user)

        each(self, request, queryset, scan, "Queued scans of")


class ToolRunInline(ReadOnlyAdminMixin, ToolRunInlineBase):
    model = ToolRun
    extra = 0
    fields = (
        "tool",
        "origin",
        "version",
        "status",
        "exit_code",
        "duration_ms",
        "findings",
        "skip_reason",
        "partial",
    )
    readonly_fields = fields


@admin.register(Scan)
class ScanAdmin(ReadOnlyAdminMixin, ScanAdminBase):
    list_display = (
        "id",
        "repository",
        "short_commit",
        "status",
        "progress",
        "reused_from",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "repository")
    search_fields = ("commit", "ref")
    list_select_related = ("repository",)
    inlines = (ToolRunInline,)
    actions = ("scan_again",)
    show_full_result_count = False

    @admin.display(description="commit")
    def short_commit(self, scan: Scan) -> str:
        return scan.commit[:12]

    @admin.action(description="Scan the same ref again")
    def scan_again(self, request: HttpRequest, queryset: QuerySet[Scan]) -> None:
        user = admin_user(request)

        def again(scan: Scan) -> object:
            return start_scan(
                repository=scan.repository, ref=scan.ref, actor=user_actor(user), created_by=user
            )

        each(self, request, queryset.select_related("repository"), again, "Queued")


@admin.register(ToolRun)
class ToolRunAdmin(ReadOnlyAdminMixin, ToolRunAdminBase):
    list_display = (
        "scan",
        "tool",
        "origin",
        "version",
        "status",
        "exit_code",
        "duration_ms",
        "findings",
        "ruleset_changed",
        "is_partial",
    )
    list_filter = ("origin", "status", "ruleset_changed", "tool")
    search_fields = ("tool", "version", "config_hash", "error", "skip_reason", "partial")
    list_select_related = ("scan",)
    show_full_result_count = False

    @admin.display(boolean=True, description="partial")
    def is_partial(self, run: ToolRun) -> bool:
        return bool(run.partial)


class FindingEventInline(ReadOnlyAdminMixin, FindingEventInlineBase):
    model = FindingEvent
    extra = 0
    fields = ("created_at", "from_state", "to_state", "actor", "note", "scan")
    readonly_fields = fields


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdminMixin, FindingAdminBase):
    list_display = (
        "id",
        "rule",
        "tool",
        "severity",
        "state",
        "is_new",
        "path",
        "line",
        "repository",
        "task",
    )
    list_filter = ("repository", "kind", "severity", "state", "tool", "is_new", "fix_applicability")
    search_fields = ("rule", "path", "message", "fingerprint", "symbol")
    list_select_related = ("repository",)
    inlines = (FindingEventInline,)
    actions = ("mark_false_positive", "accept_for_90_days", "reopen", "open_task")
    show_full_result_count = False

    @admin.action(description="Mark as false positive")
    def mark_false_positive(self, request: HttpRequest, queryset: QuerySet[Finding]) -> None:
        actor = user_actor(admin_user(request))
        each(
            self,
            request,
            queryset,
            lambda f: mark_false_positive(
                finding_id=f.pk, reason=f"marked in the admin by {actor}", actor=actor
            ),
            "Marked",
        )

    @admin.action(description="Accept for 90 days")
    def accept_for_90_days(self, request: HttpRequest, queryset: QuerySet[Finding]) -> None:
        actor = user_actor(admin_user(request))
        until = timezone.now() + ACCEPT_FOR
        each(
            self,
            request,
            queryset,
            lambda f: accept_finding(
                finding_id=f.pk,
                reason=f"accepted in the admin by {actor}",
                until=until,
                actor=actor,
            ),
            "Accepted",
        )

    @admin.action(description="Reopen (undo accept / false positive)")
    def reopen(self, request: HttpRequest, queryset: QuerySet[Finding]) -> None:
        actor = user_actor(admin_user(request))
        each(
            self,
            request,
            queryset,
            lambda f: reopen_finding(finding_id=f.pk, actor=actor),
            "Reopened",
        )

    @admin.action(description="Open an engine task to fix it")
    def open_task(self, request: HttpRequest, queryset: QuerySet[Finding]) -> None:
        user = admin_user(request)
        each(
            self,
            request,
            queryset,
            lambda f: create_finding_task(finding_id=f.pk, actor=user_actor(user), created_by=user),
            "Opened tasks for",
        )


@admin.register(FindingOccurrence)
class FindingOccurrenceAdmin(ReadOnlyAdminMixin, OccurrenceAdminBase):
    list_display = ("scan", "finding", "severity", "path", "line")
    list_filter = ("severity",)
    search_fields = ("path", "message")
    list_select_related = ("scan", "finding")
    show_full_result_count = False


@admin.register(AutoPR)
class AutoPRAdmin(ReadOnlyAdminMixin, AutoPRAdminBase):
    list_display = (
        "id",
        "title",
        "repository",
        "kind",
        "state",
        "branch",
        "pull_request",
        "tests_passed",
        "task",
        "created_at",
    )
    list_filter = ("state", "kind", "repository")
    search_fields = ("title", "key", "branch", "head_commit")
    list_select_related = ("repository",)
    actions = ("merge", "reject")

    @admin.display(description="pull request")
    def pull_request(self, autopr: AutoPR) -> str:
        if not autopr.external_url:
            return "—"
        return format_html(
            '<a href="{}" rel="noreferrer" target="_blank">#{}</a>',
            autopr.external_url,
            autopr.external_number,
        )

    @admin.action(description="Merge (fast-forward; refused if the target moved)")
    def merge(self, request: HttpRequest, queryset: QuerySet[AutoPR]) -> None:
        user = admin_user(request)
        each(self, request, queryset, lambda a: merge_autopr(autopr_id=a.pk, user=user), "Merged")

    @admin.action(description="Reject (deletes the branch)")
    def reject(self, request: HttpRequest, queryset: QuerySet[AutoPR]) -> None:
        user = admin_user(request)
        each(
            self,
            request,
            queryset,
            lambda a: reject_autopr(autopr_id=a.pk, user=user, note="rejected in the admin"),
            "Rejected",
        )
