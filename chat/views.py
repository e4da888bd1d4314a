"""The chat page: a session's conversation, its live status, budgets, tools and why it is idle.

The page is drawn from one JSON snapshot (`page_data`) and then kept live by the session's
websocket; the browser code is chat/static/chat/chat_page.js and the modules it imports. The
list of sessions is kept live by the operator stream (chat/static/chat/session_list.js).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chat.api.serializers import ExecutionSerializer, MessageSerializer, SessionSerializer
from chat.errors import InvalidMode
from chat.events import schema_document
from chat.forms import SessionListFilter, sessions_for
from chat.links import session_links
from chat.models import ChatSession, SessionState
from chat.services import set_archived, start_session
from chat.stop_reasons import StopReason
from routing.models import Mode

SESSIONS_LISTED = 30
ROWS_SHOWN = 200
# The states whose list entry also says why the last run stopped (idle means it completed).
REASON_SHOWN = (SessionState.STOPPED, SessionState.ERROR)


@dataclass(frozen=True)
class ListedSession:
    """One entry of the page's list of sessions, as session_list.js draws it too."""

    id: int
    title: str
    mode: str
    mode_label: str
    state: str
    state_label: str
    reason_label: str
    system: bool  # made by the engine for a task, not by a person


def listed(sessions: Iterable[ChatSession]) -> list[ListedSession]:
    return [
        ListedSession(
            id=item.pk,
            title=item.title,
            mode=item.mode,
            mode_label=item.get_mode_display(),
            state=item.state,
            state_label=item.get_state_display(),
            reason_label=(
                StopReason(item.stop_reason).label
                if item.state in REASON_SHOWN and item.stop_reason in StopReason.values
                else ""
            ),
            system=item.owner_id is None,
        )
        for item in sessions
    ]


def list_data(current: ChatSession | None, listing: SessionListFilter) -> dict[str, Any]:
    """What session_list.js needs to draw an entry the server did not. A filtered list only
    follows the entries it has: the stream does not say whether a new session would match."""
    return {
        "current": current.pk if current is not None else None,
        "filtered": listing.active,
        "query": listing.data.urlencode() if hasattr(listing.data, "urlencode") else "",
        "limit": SESSIONS_LISTED,
        "url": reverse("chat:session", args=[0]).replace("/0/", "/{id}/"),
        "modes": dict(Mode.choices),
        "reasons": dict(StopReason.choices),
        "reason_shown": [state.value for state in REASON_SHOWN],
    }


def session_filter(request: HttpRequest) -> SessionListFilter:
    listing = SessionListFilter(request.GET)
    if not listing.is_valid():
        raise BadRequest(f"Not a filter of the sessions: {', '.join(sorted(listing.errors))}.")
    return listing


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    listing = session_filter(request)
    newest = sessions_for(request.user, listing).first()
    if newest is not None:
        query = request.GET.urlencode()
        target = reverse("chat:session", args=[newest.pk])
        return redirect(f"{target}?{query}" if query else target)
    context = {
        "sessions": [],
        "session": None,
        "modes": Mode.choices,
        "listing": listing,
        "list_data": list_data(None, listing),
    }
    return render(request, "chat/page.html", context)


@require_GET
def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    listing = session_filter(request)
    session = ChatSession.objects.visible_to(request.user).filter(pk=session_id).first()
    if session is None:
        raise Http404("No such chat session.")
    sessions = sessions_for(request.user, listing)[:SESSIONS_LISTED]
    context = {
        "session": session,
        "links": session_links(session),
        "sessions": listed(sessions),
        "modes": Mode.choices,
        "listing": listing,
        "page_data": page_data(request, session),
        "list_data": list_data(session, listing),
    }
    return render(request, "chat/page.html", context)


@require_POST
def new_session(request: HttpRequest) -> HttpResponse:
    try:
        session = start_session(owner=request.user, mode=request.POST.get("mode", Mode.NORMAL))  # type: ignore[arg-type]
    except InvalidMode as exc:
        raise BadRequest(str(exc)) from None
    return redirect("chat:session", session_id=session.pk)


@require_POST
def archive(request: HttpRequest, session_id: int) -> HttpResponse:
    session = ChatSession.objects.visible_to(request.user).filter(pk=session_id).first()
    if session is None:
        raise Http404("No such chat session.")
    archived = request.POST.get("archived", "1") == "1"
    set_archived(session_id=session.pk, archived=archived)
    if archived:
        return redirect("chat:page")
    return redirect("chat:session", session_id=session.pk)


def author_label(session: ChatSession, user: Any) -> str:
    """Who wrote the session's instructions: the task that started a system-made session, the
    viewer's own ("You"), or the owner a staff member is looking over."""
    if session.owner_id is None:
        return f"Task #{session.origin_task_id}" if session.origin_task_id else "System"
    if session.owner_id == getattr(user, "pk", None):
        return "You"
    return session.owner.get_username() if session.owner else "User"


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
        "author": author_label(session, request.user),
        "origin_task": session.origin_task_id,
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
