from __future__ import annotations

from typing import Any

import pytest

from chat.models import ChatEvent
from chat.services import publish
from tests.chat.conftest import make_session


@pytest.mark.django_db
def test_what_the_relay_reads_is_each_events_envelope_and_owner_in_id_order(
    user: Any, other: Any
) -> None:
    mine, theirs = make_session(user), make_session(other)
    publish(theirs.pk, "error", {"message": "b", "code": "c"})
    publish(mine.pk, "error", {"message": "a", "code": "c"})
    first, *rest = ChatEvent.objects.order_by("id")

    rows = ChatEvent.objects.relayed_after(first.pk, limit=2)

    assert [(pk, owner) for pk, owner, _ in rows] == [
        (rest[0].pk, other.pk),
        (rest[1].pk, other.pk),
    ], "after the cursor, no more than the limit"
    everything = ChatEvent.objects.relayed_after(0, limit=10)
    assert [envelope for _, _, envelope in everything] == [
        event.envelope() for event in ChatEvent.objects.order_by("id")
    ]
    assert [owner for _, owner, _ in everything] == [user.pk, other.pk, other.pk, user.pk]
