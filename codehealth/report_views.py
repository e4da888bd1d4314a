"""The weekly reports' pages: the list, one report, its Markdown, and "write it now"."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from codehealth.models import Repository, WeeklyReport
from codehealth.services.trend import weekly_trend_chart
from codehealth.services.weekly import last_complete_week, week_start_of, write_weekly_report
from codehealth.services.weekly_markdown import kind_rows, weekly_markdown
from engine.services.history import user_actor

REPORTS_PER_PAGE = 30


@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    repositories = list(Repository.objects.order_by("name"))
    chosen = request.GET.get("repository", "")
    rows = WeeklyReport.objects.select_related("repository")
    if chosen:
        rows = rows.filter(repository__name=chosen)
    page = Paginator(rows, REPORTS_PER_PAGE).get_page(request.GET.get("page", "1"))
    return render(
        request,
        "codehealth/reports.html",
        {
            "reports": page,
            "repositories": repositories,
            "chosen": chosen,
            "last_week": last_complete_week(),
            "this_week": week_start_of(timezone.now()),
        },
    )


@require_GET
def report(request: HttpRequest, report_id: int) -> HttpResponse:
    found = get_object_or_404(WeeklyReport.objects.select_related("repository"), pk=report_id)
    sections = found.sections
    return render(
        request,
        "codehealth/report.html",
        {
            "report": found,
            "s": sections,
            "kind_rows": kind_rows(sections),
            "chart": weekly_trend_chart(sections.get("trend") or []),
            "previous": WeeklyReport.objects.previous(found),
            "following": WeeklyReport.objects.filter(
                repository=found.repository, week_start__gt=found.week_start
            )
            .order_by("week_start")
            .first(),
        },
    )


@require_GET
def report_markdown(request: HttpRequest, report_id: int) -> HttpResponse:
    found = get_object_or_404(WeeklyReport.objects.select_related("repository"), pk=report_id)
    response = HttpResponse(weekly_markdown(found), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.markdown_filename}"'
    return response


@require_POST
def write_report(request: HttpRequest) -> HttpResponse:
    repository = get_object_or_404(Repository, name=request.POST.get("repository", ""))
    week = last_complete_week()
    if request.POST.get("week") == "current":
        week = week_start_of(timezone.now())
    written = write_weekly_report(
        repository=repository, week_start=week, actor=user_actor(request.user)
    )
    messages.success(
        request, f"Wrote the report of {repository.name}'s week of {written.week_start:%Y-%m-%d}."
    )
    return redirect("codehealth:report", report_id=written.pk)
