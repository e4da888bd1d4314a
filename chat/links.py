"""Links into chat from the pages below it: the session a task came from (the engine task
page), the session a ledger row charged (the routing page)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

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
