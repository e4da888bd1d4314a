"""Read the next batch while the current one is stored.

A crawl alternates between reading (a file's lines, Railway's pages: parsing, joining
tracebacks; pure Python and network) and storing (fingerprinting, COPY, upserts, commit),
and while a batch is stored the process mostly waits for the database. `read_ahead` runs
the adapter's generator in a thread, one batch ahead, so the next batch is read and parsed
during that wait. Order and meaning are unchanged: batches come out in the order the
adapter made them, and an error the adapter raised comes out where it raised it, after
the batches before it. Nothing here touches the database: adapters read their source row
before their first batch and never query while yielding (``docs/logcrawler.md``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

Item = TypeVar("Item")

_POLL_SECONDS = 0.5


class _End:
    pass


_END = _End()


def read_ahead(items: Iterator[Item], *, depth: int = 1) -> Iterator[Item]:
    """``items``, produced in a background thread at most ``depth`` ahead of the consumer.

    If the consumer stops early (an error while storing, a ``break``), the producer stops
    at its next item and the thread ends.
    """
    handoff: queue.Queue[Item | BaseException | _End] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(handoff, item, stopped):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            _put(handoff, exc, stopped)
            return
        finally:
            # A generator left part-way closes now (its files), not whenever it is freed.
            close = getattr(items, "close", None)
            if close is not None:
                close()
        _put(handoff, _END, stopped)

    thread = threading.Thread(target=produce, name="logcrawler-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if isinstance(item, _End):
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
        thread.join(timeout=5)


def _put(
    handoff: queue.Queue[Item | BaseException | _End],
    item: Item | BaseException | _End,
    stopped: threading.Event,
) -> bool:
    while not stopped.is_set():
        try:
            handoff.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
