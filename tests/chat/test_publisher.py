from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections

from chat.errors import SessionNotFound
from chat.events import InvalidEvent
from chat.models import ChatEvent
from chat.services import events_after, publish, publish_many
from chat.services.publisher import observing
from tests.chat.conftest import make_session


@pytest.mark.django_db
def test_events_get_consecutive_seqs_and_are_stored(user: Any) -> None:
    session = make_session(user)
    assert session.last_seq == 1, "a new session's first event says it was created"

    first = publish(session.pk, "error", {"message": "one", "code": "x"})
    rest = publish_many(
        session.pk,
        [("error", {"message": "two", "code": "x"}), ("error", {"message": "three", "code": "x"})],
    )

    assert [first["seq"], *(e["seq"] for e in rest)] == [2, 3, 4]
    assert set(first) == {"v", "seq", "session", "type", "ts", "data"}
    session.refresh_from_db()
    assert session.last_seq == 4
    assert [e["data"]["message"] for e in events_after(session.pk, 2, limit=10)] == ["two", "three"]
    assert events_after(session.pk, 0, limit=1)[0]["type"] == "session.created"


@pytest.mark.django_db(transaction=True)
def test_an_event_is_stored_before_anyone_is_told(user: Any) -> None:
    session = make_session(user)
    seen: list[bool] = []

    def observer(envelope: dict[str, Any]) -> None:
        seen.append(ChatEvent.objects.filter(session=session, seq=envelope["seq"]).exists())

    with observing(observer):
        publish(session.pk, "error", {"message": "x", "code": "y"})

    assert seen == [True]


@pytest.mark.django_db
def test_data_is_validated_and_redacted(user: Any) -> None:
    session = make_session(user)

    with pytest.raises(InvalidEvent):
        publish(session.pk, "error", {"message": "no code"})
    with pytest.raises(ValueError, match="not stored"):
        publish(session.pk, "ping", {"last_seq": 1})
    with pytest.raises(SessionNotFound):
        publish(session.pk + 1000, "error", {"message": "x", "code": "y"})
    envelope = publish(
        session.pk, "error", {"message": "password=hunter2 sk-abcdefghijkl", "code": "y"}
    )

    assert envelope["data"]["message"] == "password=[redacted] sk-[redacted]"
    assert ChatEvent.objects.get(session=session, type="error").data == envelope["data"]
    assert ChatEvent.objects.count() == 2, "refused events left nothing behind"


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishers_never_share_a_seq(user: Any) -> None:
    session = make_session(user)
    errors: list[BaseException] = []

    def publish_some(n: int) -> None:
        try:
            for i in range(15):
                publish(session.pk, "error", {"message": f"{n}-{i}", "code": "c"})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish_some, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seqs = list(
        ChatEvent.objects.filter(session=session).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, 62)), "session.created, then 60 in a row"
