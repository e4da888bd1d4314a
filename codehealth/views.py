"""The code-health page, a scan's progress, and the buttons on the page."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from codehealth.errors import CodehealthError
from codehealth.models import Finding, Repository, RepositoryKind, Scan
from codehealth.services import (
    autofix_rule,
    change_finding_state,
    create_finding_task,
    line_url,
    merge_autopr,
    read_file,
    reject_autopr,
    scan_to_sarif,
    start_scan,
)
from codehealth.services.page import FindingFilters, repository_context
from engine.services import EngineError
from engine.services.history import user_actor

PROGRESS_POLL_MS = 1500


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    first = Repository.objects.order_by("name").first()
    if first is not None:
        return redirect("codehealth:repository", name=first.name)
    return render(request, "codehealth/page.html", {"repositories": []})


@require_GET
def repository_page(request: HttpRequest, name: str) -> HttpResponse:
    repository = get_object_or_404(Repository, name=name)
    context = repository_context(
        repository,
        filters=FindingFilters.from_query(request.GET),
        page=request.GET.get("page", "1"),
        user=request.user,
    )
    running = context["summary"].running_scan
    context["repositories"] = list(Repository.objects.order_by("name"))
    context["return_to"] = request.get_full_path()
    context["page_config"] = {
        "progress_url": reverse("codehealth:scan-progress", args=[running.pk]) if running else "",
        "poll_ms": PROGRESS_POLL_MS,
    }
    context["default_until"] = (timezone.now() + timedelta(days=90)).date().isoformat()
    return render(request, "codehealth/page.html", context)


@require_GET
def code_view(request: HttpRequest, name: str) -> HttpResponse:
    """A file at a commit with its lines numbered, one of them marked: "open the line" for
    a repository with no web view of its own (a local checkout)."""
    repository = get_object_or_404(Repository, name=name)
    path, commit = request.GET.get("path", ""), request.GET.get("commit", "")
    line = request.GET.get("line", "")
    context = {"repository": repository, "path": path, "line": int(line) if line.isdigit() else 0}
    try:
        excerpt = read_file(repository=repository, path=path, commit=commit)
    except CodehealthError as exc:
        context["error"] = str(exc)
        return render(request, "codehealth/code.html", context, status=exc.status_code)
    first = excerpt.start_line
    context |= {
        "excerpt": excerpt,
        "lines": list(enumerate(excerpt.text.splitlines(), first)),
    }
    if repository.kind == RepositoryKind.GITHUB:
        context["host_url"] = line_url(
            repository=repository, commit=excerpt.commit, path=excerpt.path
        )
    return render(request, "codehealth/code.html", context)


@require_GET
def scan_progress(request: HttpRequest, scan_id: int) -> JsonResponse:
    scan = get_object_or_404(Scan, pk=scan_id)
    return JsonResponse(
        {
            "scan": scan.pk,
            "status": scan.status,
            "progress": scan.progress,
            "phase": scan.phase,
            "finished": scan.is_finished,
            "error": scan.error,
        }
    )


@require_GET
def scan_sarif(request: HttpRequest, scan_id: int) -> JsonResponse:
    scan = get_object_or_404(Scan.objects.select_related("repository"), pk=scan_id)
    response = JsonResponse(scan_to_sarif(scan), json_dumps_params={"indent": 1})
    filename = f"{scan.repository.name}-scan-{scan.pk}.sarif"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _person(request: HttpRequest) -> User:
    # Every page needs a login (LoginRequiredMiddleware); this satisfies the types.
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def _report(request: HttpRequest, exc: EngineError) -> None:
    messages.error(request, str(exc))


@require_POST
def scan_now(request: HttpRequest, name: str) -> HttpResponse:
    repository = get_object_or_404(Repository, name=name)
    user = _person(request)
    scan = start_scan(repository=repository, actor=user_actor(user), created_by=user)
    messages.success(request, f"Scan #{scan.pk} of {repository.name} is queued for a worker.")
    return _back(request, reverse("codehealth:repository", args=[name]))


def _until(raw: str) -> datetime | None:
    try:
        day = datetime.fromisoformat(raw).date()
    except ValueError:
        return None
    return datetime.combine(day, time.max, tzinfo=UTC)


@require_POST
def finding_action(request: HttpRequest, finding_id: int, action: str) -> HttpResponse:
    finding = get_object_or_404(Finding.objects.select_related("repository"), pk=finding_id)
    fallback = reverse("codehealth:repository", args=[finding.repository.name])
    user = _person(request)
    actor = user_actor(user)
    try:
        if action == "task":
            task = create_finding_task(finding_id=finding.pk, actor=actor, created_by=user)
            messages.success(request, f"Task #{task.pk} opened for finding #{finding.pk}.")
        else:
            changed = change_finding_state(
                finding_id=finding.pk,
                action=action,
                actor=actor,
                reason=request.POST.get("reason", ""),
                until=_until(request.POST.get("until", "")),
            )
            messages.success(
                request, f"Finding #{changed.pk} is now {changed.get_state_display().lower()}."
            )
    except EngineError as exc:
        _report(request, exc)
    return _back(request, fallback)


@require_POST
@staff_member_required
def autofix(request: HttpRequest, name: str) -> HttpResponse:
    repository = get_object_or_404(Repository, name=name)
    user = _person(request)
    try:
        autopr = autofix_rule(
            repository=repository,
            rule=request.POST.get("rule", ""),
            actor=user_actor(user),
            created_by=user,
        )
        messages.success(request, f"Auto-PR #{autopr.pk} queued: a worker builds and tests it.")
    except EngineError as exc:
        _report(request, exc)
    return _back(request, reverse("codehealth:repository", args=[name]))


@require_POST
def autopr_action(request: HttpRequest, autopr_id: int, action: str) -> HttpResponse:
    if action not in ("merge", "reject"):
        raise Http404("no such action")
    user = _person(request)
    try:
        if action == "merge":
            autopr = merge_autopr(autopr_id=autopr_id, user=user)
            messages.success(request, f"Merged {autopr.branch} into {autopr.target_branch}.")
        else:
            autopr = reject_autopr(
                autopr_id=autopr_id, user=user, note=request.POST.get("note", "")
            )
            messages.success(request, f"Rejected auto-PR #{autopr.pk}; its branch is deleted.")
    except EngineError as exc:
        _report(request, exc)
    return _back(request, reverse("codehealth:page"))
