"""What a person does with a session, at the service level: creating one announces it, and
`session_for_turn` picks the session a terminal turn runs in."""

from __future__ import annotations

from typing import Any

import pytest

from chat.errors import SessionNotFound, UserNotFound
from chat.models import ChatEvent, ChatSession
from chat.services import create_session, post_message, session_for_turn
from chat.services.publisher import observing

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("routing_defaults")]


def test_a_new_session_announces_itself_as_its_first_event(user: Any) -> None:
    seen: list[dict[str, Any]] = []
    with observing(seen.append):
        session = create_session(owner=user, mode="ops", title="night shift")

    assert session.last_seq == 1, "the returned row knows its first event"
    event = ChatEvent.objects.get(session=session)
    assert (event.seq, event.type) == (1, "session.created")
    assert event.data == {"title": "night shift", "mode": "ops", "state": "idle", "label": "Idle"}
    assert [e["type"] for e in seen] == ["session.created"]


def test_a_status_carries_the_title_the_first_message_gave(user: Any) -> None:
    session = create_session(owner=user, mode="ops")

    post_message(session_id=session.pk, user=user, content="rotate  the\nlogs", queue=False)

    status = ChatEvent.objects.filter(session=session, type="session.status").get()
    assert status.data["title"] == "rotate the logs"
    assert (status.data["state"], status.data["stop_reason"]) == ("queued", "")


def test_a_turn_runs_in_the_session_named(user: Any, staff: Any) -> None:
    session = create_session(owner=user)

    chosen = session_for_turn(session_id=session.pk, username="olga", mode="code")

    assert chosen == session, "a named session wins over --user and --mode"
    assert ChatSession.objects.count() == 1
    with pytest.raises(SessionNotFound, match=f"no chat session {session.pk + 99}"):
        session_for_turn(session_id=session.pk + 99)


def test_a_turn_without_a_session_gets_a_new_one_for_the_user(user: Any, staff: Any) -> None:
    mine = session_for_turn(username="alice", mode="code")

    assert (mine.owner, mine.mode, mine.last_seq) == (user, "code", 1)
    with pytest.raises(UserNotFound, match="no user 'nobody'"):
        session_for_turn(username="nobody")
    assert ChatSession.objects.count() == 1, "a refused turn made no session"


def test_a_turn_without_a_user_belongs_to_the_first_superuser(
    user: Any, staff: Any, django_user_model: Any
) -> None:
    django_user_model.objects.create_user(username="zed", password="pw", is_superuser=True)

    assert session_for_turn(mode="ops").owner == staff


def test_without_a_superuser_the_session_is_the_engines(user: Any) -> None:
    assert session_for_turn().owner is None
