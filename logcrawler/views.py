"""The system-health page, its live fragment, a fingerprint's page and the buttons on them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from engine.services import EngineError
from logcrawler.links import fingerprint_links
from logcrawler.models import Alert, ErrorFingerprint, LogEntry, LogSource
from logcrawler.services import ACTIONS, check_may_crawl, crawl_source_once, set_fingerprint_state
from logcrawler.services.health import RANGES, get_range, occurrence_series
from logcrawler.services.page import health_context

REFRESH_SECONDS = 30
SAMPLES_SHOWN = 25


def _health(request: HttpRequest) -> dict[str, Any]:
    return health_context(
        range_name=request.GET.get("range", ""),
        include_warnings=request.GET.get("level") == "warning",
        include_muted=request.GET.get("muted") == "1",
        return_to=request.get_full_path(),
    )


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    context = _health(request)
    context["live_config"] = {
        "url": reverse("logcrawler:live"),
        "interval_ms": REFRESH_SECONDS * 1000,
    }
    context["refresh_seconds"] = REFRESH_SECONDS
    return render(request, "logcrawler/page.html", context)


@require_GET
def live(request: HttpRequest) -> HttpResponse:
    return render(request, "logcrawler/_live.html", _health(request))


@require_GET
def fingerprint_detail(request: HttpRequest, fingerprint_id: str) -> HttpResponse:
    fingerprint = get_object_or_404(
        ErrorFingerprint.objects.select_related("task"), pk=fingerprint_id
    )
    range_ = get_range(request.GET.get("range", ""))
    series = occurrence_series(
        [fingerprint.id], range_=range_, now=timezone.now(), width=720, height=140
    )[fingerprint.id]
    context = {
        "fingerprint": fingerprint,
        "ranges": list(RANGES.values()),
        "range": range_,
        "series": series,
        "entries": list(
            LogEntry.objects.filter(fingerprint=fingerprint).order_by("-ts", "-id")[:SAMPLES_SHOWN]
        ),
        "alerts": list(
            Alert.objects.filter(fingerprint=fingerprint).select_related("rule", "task")[:20]
        ),
        "links": fingerprint_links(fingerprint),
        "return_to": request.get_full_path(),
        "chart_data": {
            "counts": series.counts,
            "step_seconds": int(range_.step.total_seconds()),
            "start": series.start.isoformat(),
        },
    }
    return render(request, "logcrawler/fingerprint.html", context)


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect(fallback)


@require_POST
def change_state(request: HttpRequest, fingerprint_id: str, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("no such action")
    try:
        fingerprint = set_fingerprint_state(
            fingerprint_id=fingerprint_id, action=action, user=request.user
        )
    except EngineError as exc:
        if exc.status_code == 404:
            raise Http404(str(exc)) from None
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Fingerprint {fingerprint.id} is now {fingerprint.get_state_display().lower()}.",
        )
    return _back(request, reverse("logcrawler:fingerprint", args=[fingerprint_id]))


@require_POST
def crawl_now(request: HttpRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(LogSource, pk=source_id)
    try:
        check_may_crawl(request.user)
    except EngineError as exc:
        raise PermissionDenied(str(exc)) from None
    report = crawl_source_once(source=source)
    level = messages.ERROR if report.status == "error" else messages.SUCCESS
    messages.add_message(request, level, report.line())
    return _back(request, reverse("logcrawler:page"))
