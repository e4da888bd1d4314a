"""Merging what is queued for the channel layer: events batch, control messages never."""

from __future__ import annotations

from chat.auth import LOGGED_OUT, RECHECK
from chat.services.broadcast import _merge
from chat.services.publisher import SESSION_EVENTS

LAYER = object()


def test_consecutive_events_for_one_group_go_as_one_message() -> None:
    batch = [
        (LAYER, "chat.session.1", {"type": SESSION_EVENTS, "events": [{"seq": 1}]}, None),
        (LAYER, "chat.session.1", {"type": SESSION_EVENTS, "events": [{"seq": 2}]}, None),
        (LAYER, "chat.session.2", {"type": SESSION_EVENTS, "events": [{"seq": 1}]}, None),
    ]

    merged = [(group, message) for _, group, message, _ in _merge(batch)]

    assert merged == [
        ("chat.session.1", {"type": SESSION_EVENTS, "events": [{"seq": 1}, {"seq": 2}]}),
        ("chat.session.2", {"type": SESSION_EVENTS, "events": [{"seq": 1}]}),
    ]


def test_control_messages_for_one_group_stay_apart() -> None:
    """Two re-checks (or two logouts) in a row: each is sent; merging them broke the
    sender's thread."""
    batch = [
        (LAYER, "chat.user.7", {"type": RECHECK}, None),
        (LAYER, "chat.user.7", {"type": RECHECK}, None),
        (LAYER, "chat.login.ab", {"type": LOGGED_OUT}, None),
        (LAYER, "chat.login.ab", {"type": LOGGED_OUT}, None),
    ]

    assert [message for _, _, message, _ in _merge(batch)] == [
        {"type": RECHECK},
        {"type": RECHECK},
        {"type": LOGGED_OUT},
        {"type": LOGGED_OUT},
    ]
