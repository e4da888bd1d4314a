"""The event contract: the server validates against one table; the page and the docs hold to it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chat.events import (
    EVENT_TYPES,
    NOTICE_KINDS,
    InvalidEvent,
    schema_document,
    validate_event,
    validate_notice,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE_JS = ROOT / "chat" / "static" / "chat" / "chat_page.js"
EVENTS_DOC = ROOT / "docs" / "events.md"
CONNECTION_JS = ROOT / "chat" / "static" / "chat" / "connection.js"


def handled_by_the_page() -> set[str]:
    """The keys of the HANDLERS object literal in the page's script."""
    return object_keys(PAGE_JS, "HANDLERS")


def object_keys(script: Path, variable: str) -> set[str]:
    source = script.read_text()
    start = source.index(f"var {variable} = {{")
    body, depth = [], 0
    for char in source[start + len(f"var {variable} = ") :]:
        depth += char == "{"
        depth -= char == "}"
        body.append(char)
        if depth == 0:
            break
    # Top-level keys only: a quoted name followed by a colon at nesting depth one.
    keys, level = set(), 0
    text = "".join(body)
    for match in re.finditer(r'[{}]|"([a-z_.]+)"\s*:', text):
        if match.group(0) == "{":
            level += 1
        elif match.group(0) == "}":
            level -= 1
        elif level == 1:
            keys.add(match.group(1))
    return keys


def test_the_page_handles_exactly_the_server_types() -> None:
    assert handled_by_the_page() == set(EVENT_TYPES)


def test_docs_describe_every_type_and_its_fields() -> None:
    doc = EVENTS_DOC.read_text()
    documented = set(re.findall(r"^### `([a-z_.]+)`", doc, flags=re.MULTILINE))
    assert documented == set(EVENT_TYPES)
    for name, spec in EVENT_TYPES.items():
        section = doc.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        for field in spec.fields:
            assert f"`{field}`" in section, f"docs/events.md: {name} does not mention {field}"


def test_the_indicator_shows_exactly_the_notice_kinds() -> None:
    assert object_keys(CONNECTION_JS, "NOTICES") == set(NOTICE_KINDS)


def test_docs_describe_every_notice_kind_and_its_fields() -> None:
    doc = EVENTS_DOC.read_text()
    for name, spec in NOTICE_KINDS.items():
        section = doc.split(f"### Kind `{name}`", 1)[1].split("\n#", 1)[0]
        for field in spec.fields:
            assert f"`{field}`" in section, f"docs/events.md: notice {name} lacks {field}"


def test_a_notice_is_validated_naming_the_problem() -> None:
    with pytest.raises(InvalidEvent, match="unknown notice kind 'nope'"):
        validate_notice("nope", {})
    with pytest.raises(InvalidEvent, match=re.escape("title is required; task must be int|null")):
        validate_notice(
            "alert",
            {"alert": 1, "severity": "high", "fingerprint": None, "task": "3", "url": "/"},
        )


def test_the_schema_document_is_json() -> None:
    document = json.loads(json.dumps(schema_document()))
    assert document["envelope"] == ["v", "seq", "session", "type", "ts", "data"]
    assert document["types"]["ping"]["stored"] is False
    assert document["types"]["run.stopped"]["required"][0] == "reason"
    assert document["notices"]["alert"]["fields"]["url"] == "str"


def test_a_valid_event_passes() -> None:
    validate_event(
        "tool.failed",
        {"execution_id": None, "tool": "x", "state": "failed", "error": "e", "duration_ms": 3},
    )


@pytest.mark.parametrize(
    ("event_type", "data", "problem"),
    [
        ("nope", {}, "unknown event type"),
        ("message.delta", {"step": 1}, "text is required"),
        ("message.delta", {"step": "1", "text": "x"}, "step must be int"),
        ("message.delta", {"step": True, "text": "x"}, "step must be int"),
        ("message.delta", {"step": 1, "text": "x", "extra": 1}, "unknown fields ['extra']"),
        (
            "tool.failed",
            {"execution_id": 1, "tool": "x", "state": "s", "error": None, "duration_ms": 1},
            "error must be str",
        ),
    ],
)
def test_an_invalid_event_is_refused_naming_the_problem(
    event_type: str, data: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidEvent, match=re.escape(problem)):
        validate_event(event_type, data)
