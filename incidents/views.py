"""The incidents pages: the list, and one page per incident with its timeline."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from codehealth.models import Finding
from engine.services.errors import EngineError
from incidents.models import CLOSED_STATES, Incident, IncidentState
from incidents.services import dismiss, escalate_finding, mark_applied
from incidents.services.chart import incident_chart
from incidents.services.verification import APPLICABLE, DECIDE_PERMISSION

LIST_SHOWN = 200


@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    incidents = Incident.objects.for_list()
    if state == "open":
        incidents = incidents.not_closed()
    elif state in IncidentState.values:
        incidents = incidents.filter(state=state)
    return render(
        request,
        "incidents/list.html",
        {
            "incidents": list(incidents[:LIST_SHOWN]),
            "state": state,
            "states": IncidentState.choices,
            "open_count": Incident.objects.not_closed().count(),
        },
    )


@require_GET
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.with_cost().select_related("investigation", "fix"), pk=incident_id
    )
    return render(
        request,
        "incidents/detail.html",
        {
            "incident": incident,
            "events": list(incident.events.all()),
            "groups": list(incident.fingerprints.all()),
            "alerts": list(incident.alerts.select_related("rule")),
            "tasks": list(incident.tasks.all()),
            "sessions": list(incident.sessions.all()),
            "autoprs": list(incident.autoprs.select_related("repository")),
            "findings": list(incident.findings.select_related("repository")),
            "chart": incident_chart(incident, now=timezone.now()),
            "closed": incident.state in CLOSED_STATES,
            "may_decide": request.user.has_perm(DECIDE_PERMISSION),
            "may_apply": incident.state in APPLICABLE,
        },
    )


def _person(request: HttpRequest) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _act(
    request: HttpRequest, incident_id: int, act: Callable[[], Incident], done: str
) -> HttpResponse:
    """One service call; a refusal becomes a message on the page, never a 500."""
    get_object_or_404(Incident, pk=incident_id)
    try:
        incident = act()
    except EngineError as exc:
        messages.error(request, f"Incident #{incident_id}: {exc}.")
    else:
        messages.success(
            request, f"Incident #{incident.pk} {done}: now {incident.get_state_display()}."
        )
    return redirect("incidents:detail", incident_id)


@require_POST
def dismiss_incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "").strip()[:2000]
    if not reason:
        messages.error(request, "Dismissing an incident needs a reason.")
        return redirect("incidents:detail", incident_id)
    user = _person(request)
    return _act(
        request,
        incident_id,
        lambda: dismiss(incident_id=incident_id, user=user, reason=reason),
        "dismissed",
    )


@require_POST
def mark_incident_applied(request: HttpRequest, incident_id: int) -> HttpResponse:
    note = request.POST.get("note", "").strip()[:2000]
    user = _person(request)
    return _act(
        request,
        incident_id,
        lambda: mark_applied(incident_id=incident_id, user=user, note=note),
        "marked applied",
    )


@require_POST
def escalate(request: HttpRequest, finding_id: int) -> HttpResponse:
    """Code health's "Escalate" button on a finding's row (a finding action)."""
    finding = get_object_or_404(Finding, pk=finding_id)
    try:
        incident, created = escalate_finding(finding, user=_person(request))
    except EngineError as exc:
        messages.error(request, f"Finding #{finding_id}: {exc}.")
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
            return redirect(target)
        return redirect("incidents:page")
    word = "opened" if created else "already open; escalated again"
    messages.success(request, f"Incident #{incident.pk} {word} for finding #{finding_id}.")
    return redirect("incidents:detail", incident.pk)
