"""Links into chat from the pages below it: the session a task came from (the engine task
page), the session a ledger row charged (the routing page).

And the links out of a session's page, the engine's seam's shape: an app above registers,
in its ``AppConfig.ready()``, a function that reads a session and answers the links it
knows (its own pages); the session page shows them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.urls import reverse

from chat.models import ChatSession
from chat.services.budgets import CHAT_SESSION_PREFIX
from engine.links import TaskLink, ref_id
from engine.models import Task


def session_url(reference: str) -> str | None:
    """The page of a ledger's `chat:<id>` session (routing.sessions.register_session_link)."""
    number = reference.removeprefix(CHAT_SESSION_PREFIX)
    return reverse("chat:session", args=[int(number)]) if number.isdigit() else None


def task_links(task: Task) -> Iterable[TaskLink]:
    session = ref_id(task, "chat")
    if session is not None:
        yield TaskLink(f"Chat session #{session}", reverse("chat:session", args=[session]))


SessionLinker = Callable[[ChatSession], Iterable[TaskLink]]

_session_linkers: dict[str, SessionLinker] = {}


def register_session_links(app: str, linker: SessionLinker) -> None:
    """One linker per app; registering again replaces it (ready() may run twice in tests)."""
    _session_linkers[app] = linker


def session_links(session: ChatSession) -> list[TaskLink]:
    return [link for linker in _session_linkers.values() for link in linker(session)]
