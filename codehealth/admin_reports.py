"""Weekly reports in the admin (imported by `codehealth.admin`): written by the schedule or
the command, read here, written again by an action."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from codehealth.models import WeeklyReport
from codehealth.services.weekly import write_weekly_report
from engine.admin import ReadOnlyAdminMixin, admin_user
from engine.services.history import user_actor

if TYPE_CHECKING:
    WeeklyReportAdminBase = admin.ModelAdmin[WeeklyReport]
else:
    WeeklyReportAdminBase = admin.ModelAdmin


@admin.register(WeeklyReport)
class WeeklyReportAdmin(ReadOnlyAdminMixin, WeeklyReportAdminBase):
    list_display = (
        "week_start",
        "repository",
        "open_total",
        "open_change",
        "new_total",
        "fixed_total",
        "reopened_total",
        "autoprs_opened",
        "autoprs_merged",
        "scans",
        "generated_at",
        "links",
    )
    list_filter = ("repository", "week_start", "generated_by")
    date_hierarchy = "starts_at"
    list_select_related = ("repository",)
    readonly_fields = ("links",)
    actions = ("write_again",)
    show_full_result_count = False

    @admin.display(description="read")
    def links(self, report: WeeklyReport) -> str:
        page = reverse("codehealth:report", args=[report.pk])
        markdown = reverse("codehealth:report-markdown", args=[report.pk])
        return format_html('<a href="{}">page</a> · <a href="{}">Markdown</a>', page, markdown)

    @admin.action(description="Write again from the scans as they are now")
    def write_again(self, request: HttpRequest, queryset: QuerySet[WeeklyReport]) -> None:
        actor = user_actor(admin_user(request))
        reports = list(queryset.select_related("repository"))
        for report in reports:
            write_weekly_report(
                repository=report.repository, week_start=report.week_start, actor=actor
            )
        self.message_user(request, f"Wrote {len(reports)} report(s) again.")
