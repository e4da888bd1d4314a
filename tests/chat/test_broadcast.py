"""Merging what is queued for the channel layer: events batch, control messages never."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

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


# A process that queues a message and exits at once; the layer's first send resolves a host
# name, as a Redis layer's does when it opens its connection (REDIS_URL=redis://redis:6379).
QUEUE_AND_EXIT = """
import asyncio
import django

django.setup()
from chat.services import broadcast


class NeedsAName:
    async def group_send(self, group, message):
        await asyncio.get_running_loop().getaddrinfo("localhost", 6379)
        print("sent", group, flush=True)


broadcast._loop_sender().submit(NeedsAName(), "chat.user.7", {"type": "recheck"})
"""


def test_a_process_that_exits_right_after_queueing_still_sends() -> None:
    """The exit flush must run while the loop can still resolve a name: Python shuts its
    thread pools (which getaddrinfo runs on) before it runs atexit functions."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": settings.SECRET_KEY,
    }
    done = subprocess.run(
        [sys.executable, "-c", QUEUE_AND_EXIT],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sent chat.user.7", done.stderr[-2000:]
