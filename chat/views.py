"""The chat page: a session's conversation, its live status, budgets, tools and why it is idle.

The page is drawn from one JSON snapshot (`page_data`) and then kept live by the session's
websocket; the browser code is chat/static/chat/chat_page.js.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chat.api.serializers import ExecutionSerializer, MessageSerializer, SessionSerializer
from chat.errors import InvalidMode
from chat.events import schema_document
from chat.models import ChatSession
from chat.services import create_session
from routing.models import Mode

SESSIONS_LISTED = 30
ROWS_SHOWN = 200


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    newest = ChatSession.objects.visible_to(request.user).for_listing().first()
    if newest is not None:
        return redirect("chat:session", session_id=newest.pk)
    return render(
        request, "chat/page.html", {"sessions": [], "session": None, "modes": Mode.choices}
    )


@require_GET
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    session = ChatSession.objects.visible_to(request.user).filter(pk=session_id).first()
    if session is None:
        raise Http404("No such chat session.")
    sessions = ChatSession.objects.visible_to(request.user).for_listing()[:SESSIONS_LISTED]
    context = {
        "session": session,
        "sessions": sessions,
        "modes": Mode.choices,
        "page_data": page_data(request, session),
    }
    return render(request, "chat/page.html", context)


@require_POST
def new_session(request: HttpRequest) -> HttpResponse:
    try:
        session = create_session(owner=request.user, mode=request.POST.get("mode", Mode.NORMAL))  # type: ignore[arg-type]
    except InvalidMode as exc:
        return HttpResponse(str(exc), status=400)
    return redirect("chat:session", session_id=session.pk)


def page_data(request: HttpRequest, session: ChatSession) -> dict[str, Any]:
    messages = list(session.messages.order_by("-id")[:ROWS_SHOWN])[::-1]
    executions = list(session.executions.order_by("-id")[:ROWS_SHOWN])[::-1]
    api = reverse("chat-api:session-detail", args=[session.pk])
    return {
        "session": SessionSerializer(session).data,
        "messages": MessageSerializer(messages, many=True).data,
        "executions": ExecutionSerializer(executions, many=True).data,
        "schema": schema_document(),
        "modes": [{"value": value, "label": label} for value, label in Mode.choices],
        "csrf": get_token(request),
        "urls": {
            "ws": f"/ws/chat/{session.pk}/",
            "api": api,
            "events": f"{api}events/",
            "messages": f"{api}messages/",
            "run": f"{api}run/",
            "stop": f"{api}stop/",
            "mode": f"{api}mode/",
            "budgets": f"{api}budgets/",
            "task": reverse("engine:task", args=[0]).replace("/0/", "/{id}/"),
        },
    }
