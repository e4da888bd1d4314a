"""Grouping on log shapes unlike Loghub's: labelled corpora, and the rules behind them."""

from __future__ import annotations

import pytest

from logcrawler.fingerprint import ErrorFingerprinter, parse_access_line, parse_line
from logcrawler.fingerprint.corpora import (
    Corpus,
    all_corpora,
    json_lines,
    logfmt_lines,
    proxy_lines,
    short_messages,
)
from logcrawler.fingerprint.evaluation import grouping_accuracy


def accuracy(corpus: Corpus) -> float:
    fingerprinter = ErrorFingerprinter()
    predicted = [fingerprinter.fingerprint(parse_line(line)).id for line in corpus.texts]
    return grouping_accuracy(predicted, corpus.truth)


@pytest.mark.parametrize(
    ("make", "floor"),
    [(short_messages, 0.99), (logfmt_lines, 0.99), (json_lines, 0.99), (proxy_lines, 0.9)],
    ids=["short-messages", "key-value", "json-lines", "proxies"],
)
def test_grouping_accuracy_on_labelled_corpora_of_other_shapes(make: object, floor: float) -> None:
    corpus = make()  # type: ignore[operator]

    assert accuracy(corpus) >= floor


def test_the_corpora_are_the_same_every_time() -> None:
    assert [c.texts for c in all_corpora(200)] == [c.texts for c in all_corpora(200)]
    assert len({item.template for item in short_messages().lines}) == 26


def ids(*messages: str) -> list[str]:
    fingerprinter = ErrorFingerprinter()
    return [fingerprinter.fingerprint_message(message).id for message in messages]


def test_short_messages_that_differ_in_one_plain_word_are_one_group() -> None:
    c, d, e = ids(
        "rotation-test new line C", "rotation-test new line D", "rotation-test new line E"
    )
    assert c == d == e
    emails, invoices = ids("queue emails is full", "queue invoices is full")
    assert emails == invoices
    frank, trent = ids("leader elected: frank", "leader elected: trent")
    assert frank == trent


def test_a_differing_event_word_is_a_different_event() -> None:
    on, off = ids("scanner Powered On", "scanner Powered Off")
    started, stopped = ids("worker alice started", "worker alice stopped")
    healthy, degraded = ids("shard F is healthy", "shard F is degraded")
    screen_on, screen_off = ids(
        "onReceive action: android.intent.action.SCREEN_ON",
        "onReceive action: android.intent.action.SCREEN_OFF",
    )

    assert on != off and started != stopped and healthy != degraded
    assert screen_on != screen_off


def test_the_word_that_opens_a_clause_says_what_happened() -> None:
    channel, bssid = ids("en0: channel changed to 11", "en0: BSSID changed to 11")
    instruction, data = ids("instruction address: 0x1f", "data address: 0x1f")

    assert channel != bssid and instruction != data


def test_one_word_punctuated_differently_is_another_layout_not_a_value() -> None:
    label, prose = ids("instruction address: 0x1f", "instruction address space.......0")

    assert label != prose


def test_haproxys_http_log_is_an_access_line() -> None:
    line = (
        "haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 "
        '10/0/30/69/109 503 2750 - - ---- 1/1/1/1/0 0/0 "GET /orders/8812?x=1 HTTP/1.1"'
    )

    access = parse_access_line(line)

    assert access is not None
    assert (access.method, access.route, access.status_class) == ("GET", "/orders/<*>", "5xx")
