"""Input of the chat page: the filter of its list of sessions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q

from chat.models import ChatSession, ChatSessionQuerySet, SessionState
from routing.models import Mode

WHO = [("all", "All sessions"), ("mine", "Mine"), ("system", "System-made")]


class SessionListFilter(forms.Form):
    """Whose sessions (a person's own, or those the engine started for a task), mode, state,
    words of the title; archived sessions only when asked, and then only those."""

    who = forms.ChoiceField(choices=WHO, required=False)
    mode = forms.ChoiceField(choices=[("", "Any mode"), *Mode.choices], required=False)
    state = forms.ChoiceField(choices=[("", "Any state"), *SessionState.choices], required=False)
    q = forms.CharField(max_length=100, required=False, strip=True)
    archived = forms.BooleanField(required=False, label="Archived only")

    def apply(self, sessions: ChatSessionQuerySet, user: Any) -> ChatSessionQuerySet:
        given = self.cleaned_data
        sessions = sessions.filter(archived_at__isnull=not given["archived"])
        if given["who"] == "mine":
            sessions = sessions.filter(owner_id=user.pk)
        elif given["who"] == "system":
            sessions = sessions.filter(owner__isnull=True)
        if given["mode"]:
            sessions = sessions.filter(mode=given["mode"])
        if given["state"]:
            sessions = sessions.filter(state=given["state"])
        if given["q"]:
            sessions = sessions.filter(Q(title__icontains=given["q"]))
        return sessions

    @property
    def active(self) -> bool:
        return any(self.cleaned_data.get(name) for name in ("mode", "state", "q", "archived")) or (
            self.cleaned_data.get("who") not in ("", "all", None)
        )


def sessions_for(user: Any, listing: SessionListFilter) -> ChatSessionQuerySet:
    return listing.apply(ChatSession.objects.visible_to(user).for_listing(), user)
