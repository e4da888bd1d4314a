"""The incidents pages: the list, and one page per incident with its timeline."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from incidents.models import CLOSED_STATES, Incident, IncidentState

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
        Incident.objects.select_related("investigation", "fix"), pk=incident_id
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
            "closed": incident.state in CLOSED_STATES,
        },
    )
