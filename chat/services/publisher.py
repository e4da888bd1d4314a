"""The one helper every producer calls: validate, redact, store with the next seq, then send.

An event's seq is allocated under a lock on its session row and stored in the same
transaction, and it is sent only after that transaction commits: whatever a client
receives live is already in the database, so a reconnect can always replay what it missed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from chat.errors import SessionNotFound
from chat.events import EVENT_TYPES, ops_types, validate_event, validate_notice
from chat.models import ChatEvent, ChatSession, OpsNotice
from chat.services.broadcast import relay_needed, send_to_group
from chat.services.wakeup import EVENTS, NOTICES, wake_relays
from routing.redaction import redact

OPS_GROUP = "chat.ops"
SESSION_EVENTS = "chat.events"  # the consumer method: chat_events
OPS_EVENTS = "ops.events"
OPS_NOTICES = "ops.notice"  # the consumer method: ops_notice
NOTICE_KEPT = timedelta(hours=1)  # stored notices only bridge processes; nothing replays them

Envelope = dict[str, Any]
Observer = Callable[[Envelope], None]
_observers: list[Observer] = []


def session_group(session_id: int) -> str:
    return f"chat.session.{session_id}"


@contextmanager
def observing(observer: Observer) -> Iterator[None]:
    """See every event this process publishes (the terminal command prints them)."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


def publish(session_id: int, event_type: str, data: dict[str, Any]) -> Envelope:
    return publish_many(session_id, [(event_type, data)])[0]


def publish_many(session_id: int, items: list[tuple[str, dict[str, Any]]]) -> list[Envelope]:
    """Store events under consecutive seqs in one transaction; send them once it commits."""
    for event_type, data in items:
        validate_event(event_type, data)
        if not EVENT_TYPES[event_type].stored:
            raise ValueError(f"{event_type} events are not stored; send them directly")
    now = timezone.now()
    with transaction.atomic():
        allocated = _allocate(session_id, len(items), now)
        if allocated is None:
            raise SessionNotFound(f"chat session {session_id} does not exist")
        last_seq, owner_id = allocated
        first = last_seq - len(items) + 1
        events = [
            ChatEvent(
                session_id=session_id,
                seq=first + offset,
                type=event_type,
                data=redact(data),
                created_at=now,
            )
            for offset, (event_type, data) in enumerate(items)
        ]
        ChatEvent.objects.bulk_create(events)
        envelopes = [event.envelope() for event in events]
        transaction.on_commit(lambda: deliver(session_id, owner_id, envelopes))
    return envelopes


def _allocate(session_id: int, count: int, now: datetime) -> tuple[int, int | None] | None:
    """Take `count` seqs: one UPDATE ... RETURNING, which locks the session row until the
    transaction ends (SQLite and PostgreSQL both support it), so concurrent publishers queue
    here and seqs never repeat or skip."""
    table = connection.ops.quote_name(ChatSession._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + %s, last_event_at = %s "  # noqa: S608
            "WHERE id = %s RETURNING last_seq, owner_id",
            [count, connection.ops.adapt_datetimefield_value(now), session_id],
        )
        row = cursor.fetchone()
    return (int(row[0]), row[1]) if row else None


def deliver(session_id: int, owner_id: int | None, envelopes: list[Envelope]) -> None:
    """Hand stored events to this process's observers and to the channel layer; with the
    in-memory layer, wake the database relays that carry them to the other processes."""
    for observer in list(_observers):
        for envelope in envelopes:
            observer(envelope)
    send_to_group(session_group(session_id), {"type": SESSION_EVENTS, "events": envelopes})
    relayed = [e for e in envelopes if e["type"] in ops_types()]
    if relayed:
        send_to_group(OPS_GROUP, {"type": OPS_EVENTS, "owner": owner_id, "events": relayed})
    if relay_needed() and settings.CHAT_RELAY_WAKE:
        wake_relays(EVENTS)


def publish_ops_notice(kind: str, data: dict[str, Any]) -> Envelope:
    """Tell every operator-stream client, whoever owns what; never replayed.

    With Redis the layer carries it to every process. The in-memory layer cannot, so the
    notice is stored instead and each Daphne process's database relay sends it, this
    process's included: sending it here too would deliver it twice.
    """
    validate_notice(kind, data)
    now = timezone.now()
    redacted = redact(data)
    notice = OpsNotice(kind=kind, data=redacted, created_at=now)
    relayed = relay_needed()
    if relayed:
        OpsNotice.objects.filter(created_at__lt=now - NOTICE_KEPT).delete()
        notice.save()
        if settings.CHAT_RELAY_WAKE:
            transaction.on_commit(lambda: wake_relays(NOTICES))
    envelope = notice.envelope()
    for observer in list(_observers):
        observer(envelope)
    if not relayed:
        send_to_group(OPS_GROUP, {"type": OPS_NOTICES, "events": [envelope]})
    return envelope


def ping_envelope(session_id: int | None, last_seq: int | None) -> Envelope:
    """The heartbeat frame: not stored, so it has no seq of its own."""
    return {
        "v": 1,
        "seq": None,
        "session": session_id,
        "type": "ping",
        "ts": timezone.now().isoformat(),
        "data": {"last_seq": last_seq},
    }


def events_after(
    session_id: int, seq: int, *, limit: int, upto: int | None = None
) -> list[Envelope]:
    events = ChatEvent.objects.after(session_id, seq)
    if upto is not None:
        events = events.filter(seq__lte=upto)
    return [event.envelope() for event in events[:limit]]


def latest_seq(session_id: int) -> int | None:
    return ChatSession.objects.filter(pk=session_id).values_list("last_seq", flat=True).first()
