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
    ops_types,
    schema_document,
    validate_event,
    validate_notice,
)

ROOT = Path(__file__).resolve().parents[2]
CHAT_STATIC = ROOT / "chat" / "static" / "chat"
PAGE_ENTRY = CHAT_STATIC / "chat_page.js"
SESSION_LIST_JS = CHAT_STATIC / "session_list.js"
EVENTS_DOC = ROOT / "docs" / "events.md"
CONNECTION_JS = CHAT_STATIC / "connection.js"
ENGINE_PAGE = ROOT / "templates" / "engine" / "page.html"
IMPORT = re.compile(r'^import\s[^;]*?from\s+"(\./[\w.]+)";', re.MULTILINE)


def page_modules() -> list[Path]:
    """The page's entry module and every module it imports, however deep."""
    found, todo = [], [PAGE_ENTRY]
    while todo:
        module = todo.pop()
        if module in found:
            continue
        assert module.exists(), f"{module.name} is imported but missing"
        found.append(module)
        todo += [module.parent / name for name in IMPORT.findall(module.read_text())]
    return found


def handled_by_the_page() -> set[str]:
    """The keys of the HANDLERS object literal, in whichever of the page's modules holds it."""
    holders = [m for m in page_modules() if declares(m, "HANDLERS")]
    assert len(holders) == 1, f"HANDLERS is declared in {[m.name for m in holders]}"
    return object_keys(holders[0], "HANDLERS")


DECLARATION = r"(?:export\s+)?(?:var|let|const)\s+{}\s*=\s*\{{"


def declares(script: Path, variable: str) -> bool:
    return re.search(DECLARATION.format(variable), script.read_text()) is not None


def object_keys(script: Path, variable: str) -> set[str]:
    source = script.read_text()
    declared = re.search(DECLARATION.format(variable), source)
    assert declared is not None, f"{script.name} declares no {variable}"
    body, depth = [], 0
    for char in source[declared.end() - 1 :]:
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


def test_the_page_is_split_into_modules_the_entry_imports() -> None:
    names = {module.name for module in page_modules()}
    assert {"chat_page.js", "chat_events.js", "chat_stream.js"} <= names
    for module in page_modules():
        assert len(module.read_text().splitlines()) < 200, f"{module.name} grew: split it"


def test_the_session_list_listens_only_for_operator_stream_types() -> None:
    handled = object_keys(SESSION_LIST_JS, "LIST_HANDLERS")
    assert handled == {"session.created", "session.status"}
    assert handled <= ops_types(), "the operator stream never sends the others"


def test_the_engine_page_refreshes_on_operator_stream_types() -> None:
    found = re.search(r'data-refresh-on="([^"]*)"', ENGINE_PAGE.read_text())
    assert found is not None
    named = set(found.group(1).split())
    assert {"approval.requested", "approval.decided"} <= named
    assert named <= ops_types(), f"not on the operator stream: {named - ops_types()}"


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
