"""read_ahead: the next batch read in a thread, in order, errors where they were raised."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from logcrawler.sources.base import SourceError
from logcrawler.sources.readahead import read_ahead


def test_items_come_out_in_order_and_all_of_them() -> None:
    assert list(read_ahead(iter(range(50)))) == list(range(50))


def test_the_producer_runs_at_most_one_item_ahead_in_another_thread() -> None:
    produced: list[int] = []
    threads: set[str] = set()

    def items() -> Iterator[int]:
        for n in range(5):
            threads.add(threading.current_thread().name)
            produced.append(n)
            yield n

    consumed = []
    for item in read_ahead(items()):
        time.sleep(0.05)  # the producer has had time to run ahead, as far as it may
        consumed.append(item)
        # The item being handled, one in the queue, and one waiting to be put.
        assert len(produced) <= item + 3

    assert consumed == list(range(5))
    assert threads == {"logcrawler-read-ahead"}


def test_an_error_comes_out_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise SourceError("Railway answered HTTP 400")

    seen = []
    with pytest.raises(SourceError, match="HTTP 400"):
        for item in read_ahead(items()):
            seen.append(item)

    assert seen == [1, 2]


def test_a_consumer_that_stops_stops_the_producer() -> None:
    finished = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            finished.set()

    for item in read_ahead(endless()):
        if item == 3:
            break

    assert finished.wait(timeout=5)
