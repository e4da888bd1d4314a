"""ErrorFingerprinter: stable ids, replays, tracebacks, access lines, Loghub accuracy."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from logcrawler.fingerprint import (
    KIND_HTTP,
    KIND_MESSAGE,
    KIND_TRACEBACK,
    ErrorFingerprinter,
    GroupState,
    make_entry,
)
from logcrawler.fingerprint.evaluation import grouping_accuracy

# ../shared beside the checkout, or beside the folder of worktrees that holds it.
LOGHUB = next(
    (
        path
        for path in (
            Path(__file__).resolve().parents[n] / "shared" / "data" / "loghub_2k" for n in (3, 4)
        )
        if path.exists()
    ),
    Path(__file__).resolve().parents[3] / "shared" / "data" / "loghub_2k",
)

LINES = [
    "Invalid user alice from 10.0.0.1",
    "Invalid user bob from 10.0.0.2",
    "Received block blk_-1608999687919862906 of size 67108864 from /10.250.10.6",
    "Received block blk_7503483334202473044 of size 3134 from /10.251.73.220",
    "AirPort: Link Up on en0",
    "Location icon should now be in state 'Active'",
    "Location icon should now be in state 'Inactive'",
    "PacketResponder 1 for block blk_38865049064139660 terminating",
]

TRACEBACK = """Traceback (most recent call last):
  File "/app/.venv/lib/python3.11/site-packages/django/core/handlers/base.py", line 197, in get
    response = wrapped_callback(request)
  File "/app/shop/views.py", line {view_line}, in checkout
    total = compute_total(cart)
  File "/app/shop/pricing.py", line {pricing_line}, in compute_total
    return sum(int(x) for x in cart)
  File "/usr/lib/python3.11/json/decoder.py", line 337, in decode
    obj, end = self.raw_decode(s, idx=_w(s, 0).end())
{exception}: invalid literal for int() with base 10: '{value}'
"""


def traceback(
    *, view_line: int = 42, pricing_line: int = 17, exception: str = "ValueError", value: str = "x"
) -> str:
    return TRACEBACK.format(
        view_line=view_line, pricing_line=pricing_line, exception=exception, value=value
    )


def test_the_same_line_always_gets_the_same_id_and_is_new_once() -> None:
    fingerprinter = ErrorFingerprinter()
    first = fingerprinter.fingerprint_message("disk /dev/sda1 is 91% full")
    again = fingerprinter.fingerprint_message("disk /dev/sda1 is 91% full")

    assert first.is_new and not again.is_new
    assert first.id == again.id
    assert len(first.id) == 16 and int(first.id, 16) >= 0


def test_a_new_instance_gives_the_same_ids_for_the_same_lines() -> None:
    first = [ErrorFingerprinter().fingerprint_message(line).id for line in LINES[:1]]
    one = ErrorFingerprinter()
    two = ErrorFingerprinter()

    assert [one.fingerprint_message(line).id for line in LINES] == [
        two.fingerprint_message(line).id for line in LINES
    ]
    assert one.fingerprint_message(LINES[0]).id == first[0]


def test_replaying_lines_creates_no_group_and_keeps_every_id() -> None:
    fingerprinter = ErrorFingerprinter()
    ids = [fingerprinter.fingerprint_message(line).id for line in LINES]
    groups = len(fingerprinter.groups)

    replayed = [fingerprinter.fingerprint_message(line) for line in LINES * 3]

    assert len(fingerprinter.groups) == groups
    assert [result.id for result in replayed] == ids * 3
    assert not any(result.is_new for result in replayed)


def test_a_later_line_widens_a_group_without_changing_its_id() -> None:
    fingerprinter = ErrorFingerprinter()
    alice = fingerprinter.fingerprint_message("Invalid user alice from 10.0.0.1")
    bob = fingerprinter.fingerprint_message("Invalid user bob from 10.0.0.2")

    assert bob.id == alice.id
    assert bob.template_changed and not bob.is_new
    assert bob.template == "Invalid user <*> from <*>"
    assert fingerprinter.fingerprint_message("Invalid user alice from 10.0.0.9").id == alice.id


def test_plain_words_that_differ_are_different_events() -> None:
    fingerprinter = ErrorFingerprinter()
    on = fingerprinter.fingerprint_message("BTLE scanner Powered On")
    off = fingerprinter.fingerprint_message("BTLE scanner Powered Off")

    assert on.id != off.id


def test_numbers_ids_and_addresses_do_not_split_a_group() -> None:
    fingerprinter = ErrorFingerprinter()
    ids = {fingerprinter.fingerprint_message(line).id for line in LINES[2:4]}

    assert len(ids) == 1


def test_a_restored_fingerprinter_continues_with_the_same_ids() -> None:
    original = ErrorFingerprinter()
    ids = [original.fingerprint_message(line).id for line in LINES]
    stored = [state.as_json() for state in original.snapshot()]

    restored = ErrorFingerprinter.from_snapshot(GroupState.from_json(data) for data in stored)
    replayed = [restored.fingerprint_message(line) for line in LINES]

    assert [result.id for result in replayed] == ids
    assert not any(result.is_new for result in replayed)
    assert [group.id for group in restored.groups] == [group.id for group in original.groups]
    assert restored.fingerprint_message("Invalid user carol from 10.0.0.3").id == ids[0]


def test_groups_are_scoped_by_service() -> None:
    fingerprinter = ErrorFingerprinter()
    api = fingerprinter.fingerprint_message("connection refused", service="api")
    worker = fingerprinter.fingerprint_message("connection refused", service="worker")

    assert api.id != worker.id
    assert api.group.service == "api"


def test_tracebacks_group_by_exception_type_and_app_frames_not_line_numbers() -> None:
    fingerprinter = ErrorFingerprinter()
    first = fingerprinter.fingerprint_message(traceback())
    moved = fingerprinter.fingerprint_message(traceback(view_line=45, pricing_line=19, value="y"))
    other_type = fingerprinter.fingerprint_message(traceback(exception="TypeError"))

    assert first.group.kind == KIND_TRACEBACK
    assert moved.id == first.id and not moved.is_new
    assert other_type.id != first.id
    assert first.template == "ValueError shop/views.py:checkout shop/pricing.py:compute_total"


def test_tracebacks_ignore_library_frames() -> None:
    fingerprinter = ErrorFingerprinter()
    first = fingerprinter.fingerprint_message(traceback())
    upgraded = traceback().replace("handlers/base.py", "handlers/exception.py")
    upgraded = upgraded.replace("python3.11/json/decoder.py", "python3.12/json/scanner.py")

    assert fingerprinter.fingerprint_message(upgraded).id == first.id


def test_tracebacks_through_other_app_code_are_another_group() -> None:
    fingerprinter = ErrorFingerprinter()
    first = fingerprinter.fingerprint_message(traceback())
    other = fingerprinter.fingerprint_message(traceback().replace("in checkout", "in refund"))

    assert other.id != first.id


def test_access_lines_group_by_method_route_shape_and_status_class() -> None:
    fingerprinter = ErrorFingerprinter()
    first = fingerprinter.fingerprint_message(
        '10.1.2.3 - - [01/May/2024:12:00:00 +0000] "GET /orders/8812?page=2 HTTP/1.1" 404 512'
    )
    same = fingerprinter.fingerprint_message('INFO: 10.9.9.9:5100 - "GET /orders/17 HTTP/1.1" 410')
    server_error = fingerprinter.fingerprint_message("GET /orders/17 500")
    post = fingerprinter.fingerprint_message("POST /orders/17 404")

    assert first.group.kind == KIND_HTTP
    assert first.template == "GET /orders/<*> 4xx"
    assert same.id == first.id
    assert server_error.id != first.id
    assert post.id not in {first.id, server_error.id}


def test_structured_http_fields_are_an_access_line() -> None:
    fingerprinter = ErrorFingerprinter()
    entry = make_entry(
        message="request",
        service="web",
        attributes={"method": "GET", "path": "/orders/8812", "httpStatus": 503},
    )
    text = fingerprinter.fingerprint_message("GET /orders/17 500", service="web")

    assert fingerprinter.fingerprint(entry).id == text.id


def test_entries_without_http_fields_use_their_message() -> None:
    fingerprinter = ErrorFingerprinter()
    entry = make_entry(message="cache miss for key 42", attributes={"region": "eu"})

    result = fingerprinter.fingerprint(entry)

    assert result.group.kind == KIND_MESSAGE
    assert result.template == "cache miss for key <*>"


def read_loghub(system: str) -> tuple[list[str], list[str]]:
    path = LOGHUB / system / f"{system}_2k.log_structured_corrected.csv"
    if not path.exists():
        pytest.skip(f"Loghub sample {path} is not on this machine")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [row["Content"] for row in rows], [row["EventId"] for row in rows]


@pytest.mark.parametrize("system", ["HDFS", "OpenSSH"])
def test_grouping_accuracy_on_loghub_samples(system: str) -> None:
    contents, truth = read_loghub(system)
    fingerprinter = ErrorFingerprinter()

    predicted = [fingerprinter.fingerprint_message(line).id for line in contents]

    assert grouping_accuracy(predicted, truth) >= 0.9
