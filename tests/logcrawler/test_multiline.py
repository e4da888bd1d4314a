"""Joining the lines of one entry: tracebacks from logger.exception and from stderr."""

from __future__ import annotations

from logcrawler.fingerprint import make_entry
from logcrawler.sources.multiline import join_entries, join_lines

LOGGED = [
    "2025-06-02T11:00:05Z ERROR shop.views: Checkout failed",
    "Traceback (most recent call last):",
    '  File "/app/shop/views.py", line 41, in checkout',
    "    total = price(cart)",
    "KeyError: 'NO'",
    "2025-06-02T11:00:06Z INFO shop.views: next request",
]


def spans_text(lines: list[str]) -> list[str]:
    return ["\n".join(lines[start:end]) for start, end in join_lines(lines)]


def test_a_logged_exception_joins_its_message_line() -> None:
    assert spans_text(LOGGED) == ["\n".join(LOGGED[:5]), LOGGED[5]]


def test_a_bare_traceback_after_an_unrelated_line_stands_alone() -> None:
    lines = ["INFO worker started", *LOGGED[1:5], "INFO worker restarted"]

    assert spans_text(lines) == ["INFO worker started", "\n".join(LOGGED[1:5]), lines[-1]]


def test_chained_exceptions_stay_one_entry() -> None:
    lines = [
        "ERROR import failed",
        "Traceback (most recent call last):",
        '  File "/app/a.py", line 1, in f',
        "KeyError: 'x'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/app/a.py", line 3, in f',
        "ValueError: bad",
        "INFO next",
    ]

    assert spans_text(lines) == ["\n".join(lines[:10]), "INFO next"]


def test_indented_continuations_join_any_entry() -> None:
    lines = ["ERROR java.lang.IllegalStateException: boom", "\tat com.x.A.run(A.java:10)", "OK"]

    assert spans_text(lines) == ["\n".join(lines[:2]), "OK"]


def test_plain_lines_are_never_joined() -> None:
    lines = ["one", "two: error", "three"]

    assert spans_text(lines) == lines


def test_structured_entries_join_within_a_service_with_the_worst_level() -> None:
    entries = [
        make_entry(message="Failed to price cart", level="warning", service="api"),
        make_entry(message="Traceback (most recent call last):", level="error", service="api"),
        make_entry(message='  File "/app/p.py", line 1, in price', service="api"),
        make_entry(message="KeyError: 'NO'", service="api"),
        make_entry(message="Traceback (most recent call last):", service="worker"),
    ]

    joined = join_entries(entries)

    assert [entry.service for entry in joined] == ["api", "worker"]
    assert joined[0].level == "ERROR"
    assert joined[0].message.splitlines()[-1] == "KeyError: 'NO'"
