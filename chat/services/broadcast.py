"""Sending stored events to the channel layer from synchronous code.

The in-memory layer lives in one process and one event loop: inside Daphne a sync view's
``async_to_sync`` runs on that loop, which is what it needs. The Redis layers open
connections per event loop, so a fresh loop per event (what ``async_to_sync`` does in a
worker) would pay a connection each time; instead one thread per process keeps one loop and
sends in order, merging messages queued for the same group into one (batching under load).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import logging
import threading
from concurrent.futures import Future
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

log = logging.getLogger(__name__)

MAX_BATCH = 500
EXIT_FLUSH_SECONDS = 2.0


Item = tuple[Any, str, dict[str, Any], "Future[None] | None"]


class _LoopSender:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.items: collections.deque[Item] = collections.deque()
        # The drain loop sleeps only when it found nothing; a producer wakes it only then,
        # so a busy publisher pays no cross-thread wake-up per event.
        self.idle = False
        self.wakeup: asyncio.Event
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(ready,), name="chat-broadcast", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.wakeup = asyncio.Event()
        ready.set()
        self.loop.run_until_complete(self._drain())

    async def _drain(self) -> None:
        while True:
            if not self.items:
                self.idle = True
                if not self.items:
                    await self.wakeup.wait()
                self.wakeup.clear()
                self.idle = False
                continue
            batch = [self.items.popleft() for _ in range(min(len(self.items), MAX_BATCH))]
            for layer, group, message, done in _merge(batch):
                try:
                    await layer.group_send(group, message)
                except Exception:
                    # The events are stored; a client fills the gap from the database.
                    log.warning("chat: group_send to %s failed", group, exc_info=True)
                if done is not None:
                    done.set_result(None)

    def _put(self, item: Item) -> None:
        self.items.append(item)
        if self.idle:
            self.idle = False
            self.loop.call_soon_threadsafe(self.wakeup.set)

    def submit(self, layer: Any, group: str, message: dict[str, Any]) -> None:
        self._put((layer, group, message, None))

    def flush(self, timeout: float) -> None:
        """Wait until everything submitted before this call has been sent."""
        done: Future[None] = Future()
        self._put((None, "", {}, done))
        done.result(timeout=timeout)


def _merge(batch: list[Item]) -> list[Item]:
    """Consecutive messages of one type to one group become one message of many events."""
    merged: list[Item] = []
    for layer, group, message, done in batch:
        if layer is None:
            merged.append((_NoLayer(), group, message, done))
            continue
        if merged:
            last_layer, last_group, last, last_done = merged[-1]
            if (
                last_layer is layer
                and last_group == group
                and last_done is None
                and "events" in message  # control messages (a close, a re-check) stay apart
                and last.get("type") == message.get("type")
                and last.keys() == message.keys()
                and all(last[k] == message[k] for k in last if k != "events")
            ):
                last["events"] = [*last["events"], *message["events"]]
                continue
        merged.append((layer, group, dict(message), done))
    return merged


class _NoLayer:
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        return None


_sender: _LoopSender | None = None
_sender_lock = threading.Lock()


def _loop_sender() -> _LoopSender:
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.thread.is_alive():
            _sender = _LoopSender()
        return _sender


def relay_needed() -> bool:
    """The in-memory layer cannot cross processes: the database relay carries what it can't."""
    return isinstance(get_channel_layer(), InMemoryChannelLayer)


def send_to_group(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, InMemoryChannelLayer):
        # Nobody in this process listens (a worker): the database relay carries it instead.
        if group in getattr(layer, "groups", {}):
            async_to_sync(layer.group_send)(group, message)
        return
    _loop_sender().submit(layer, group, message)


def flush(timeout: float = 5.0) -> None:
    """Block until queued messages are sent (a short-lived process calls it before exit)."""
    if _sender is not None and _sender.thread.is_alive():
        _sender.flush(timeout)


def _flush_at_exit() -> None:
    """The sender's thread is a daemon: a process that exits (a management command that
    deactivated a user, say) would otherwise drop what it queued last, unsent."""
    try:
        flush(EXIT_FLUSH_SECONDS)
    except Exception:
        log.warning("chat: messages queued at exit were not all sent", exc_info=True)


# Not atexit: Python shuts its thread pools before it runs atexit functions, and the loop
# resolves a host name on one (a Redis layer opening its connection to redis://redis:6379),
# so the flush could no longer send. threading's exit hooks run earlier, newest first: this
# one before the pools' own (registered when asgiref imported concurrent.futures' pools).
getattr(threading, "_register_atexit", atexit.register)(_flush_at_exit)
