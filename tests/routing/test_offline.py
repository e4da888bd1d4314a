"""The offline provider: rules, deterministic, labelled, free."""

from __future__ import annotations

import json
from typing import Any

from routing.providers import OfflineProvider
from routing.types import Delta, ProviderRequest, ProviderResult

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "list_tasks",
            "description": "List the engine's tasks, filtered by state",
            "parameters": {
                "type": "object",
                "properties": {
                    "state": {"type": "string", "enum": ["pending", "running", "failed"]},
                    "limit": {"type": "integer", "minimum": 1},
                    "verbose": {"type": "boolean"},
                },
                "required": ["state", "limit"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_logs",
            "description": "Search log entries for a text",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "maxLength": 40},
                    "since": {"type": ["string", "null"]},
                },
                "required": ["query"],
            },
        },
    },
]


def run(
    messages: list[dict[str, Any]],
    *,
    tools: list[dict[str, Any]] | None = None,
    stream: bool = False,
) -> tuple[list[Delta], ProviderResult]:
    request = ProviderRequest(model="ignored", messages=messages, tools=tools, stream=stream)
    deltas: list[Delta] = []
    sending = OfflineProvider().send(request)
    while True:
        try:
            deltas.append(next(sending))
        except StopIteration as stop:
            return deltas, stop.value


def test_picks_the_tool_whose_words_match_and_fills_required_arguments() -> None:
    _, result = run([{"role": "user", "content": "Show me the 5 failed tasks please"}], tools=TOOLS)

    [call] = result.tool_calls
    assert call.name == "list_tasks"
    assert call.parsed_arguments() == {"state": "failed", "limit": 5}
    assert result.finish_reason == "tool_calls"
    assert result.usage.cost is None


def test_a_string_argument_is_never_the_whole_request() -> None:
    """Issue 15: "create a task to restart the billing service" made a task whose kind was
    that sentence. A string the request does not give is not guessed: the tool is not called
    and the answer says what was missing."""
    _, result = run(
        [{"role": "user", "content": "search the logs for connection refused errors today"}],
        tools=TOOLS,
    )

    assert result.tool_calls == []
    assert result.content.startswith("[offline (rule-based)] The request fits the tool")
    assert "`search_logs`" in result.content and "could not tell its `query`" in result.content
    assert "connection refused errors" not in result.content


def test_a_quoted_phrase_fills_a_string_argument() -> None:
    _, result = run(
        [{"role": "user", "content": 'search the logs for "connection refused" today'}],
        tools=TOOLS,
    )

    [call] = result.tool_calls
    assert call.parsed_arguments() == {"query": "connection refused"}


def test_named_values_fill_their_arguments_of_any_type() -> None:
    message = "list tasks state: running limit=3 verbose=yes"

    _, result = run([{"role": "user", "content": message}], tools=TOOLS)

    assert result.tool_calls[0].parsed_arguments() == {
        "state": "running",
        "limit": 3,
        "verbose": True,
    }


def test_without_a_hint_nothing_is_guessed_and_the_answer_says_what_is_missing() -> None:
    _, result = run([{"role": "user", "content": "list tasks"}], tools=TOOLS)

    assert result.tool_calls == []
    assert "could not tell its `state` and `limit`" in result.content
    assert "OPENROUTER_API_KEY" in result.content


def test_creating_a_task_needs_its_kind_and_title_from_the_request() -> None:
    create = {
        "type": "function",
        "function": {
            "name": "create_task",
            "description": "Create an engine task of a kind for a worker to run.",
            "parameters": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "minLength": 1, "maxLength": 200},
                    "kind": {"type": "string", "description": "A capability of some worker."},
                    "priority": {"type": "integer"},
                },
                "required": ["title", "kind"],
            },
        },
    }

    _, vague = run(
        [{"role": "user", "content": "create a task to restart the billing service"}],
        tools=[create],
    )
    _, exact = run(
        [{"role": "user", "content": 'create a task "Restart billing" kind: ops.restart'}],
        tools=[create],
    )

    assert vague.tool_calls == []
    assert "`title` and `kind` (A capability of some worker)" in vague.content
    assert exact.tool_calls[0].parsed_arguments() == {
        "title": "Restart billing",
        "kind": "ops.restart",
    }


def test_same_input_same_output() -> None:
    messages = [{"role": "user", "content": "list tasks"}]

    assert run(messages, tools=TOOLS)[1] == run(messages, tools=TOOLS)[1]


def test_summarises_tool_results_once_they_arrive() -> None:
    messages = [
        {"role": "user", "content": "list failed tasks"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "list_tasks", "arguments": "{}"},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": "#12 deploy failed\n#14 backup failed",
        },
    ]

    _, result = run(messages, tools=TOOLS)

    assert result.tool_calls == []
    assert result.content == (
        "[offline (rule-based)] Results of 1 tool call(s):\n"
        "- list_tasks: #12 deploy failed #14 backup failed"
    )


def test_says_it_is_not_a_model_when_no_tool_matches() -> None:
    _, result = run([{"role": "user", "content": "Write me a poem"}], tools=TOOLS)

    assert result.content.startswith("[offline (rule-based)] No model is configured")
    assert "None of the 2 available tools matched" in result.content
    assert "“Write me a poem”" in result.content


def test_streams_word_by_word_and_tool_calls_in_fragments() -> None:
    deltas, result = run([{"role": "user", "content": "hello there"}], stream=True)
    assert "".join(d.text for d in deltas) == result.content
    assert len(deltas) == len(result.content.split())

    deltas, result = run(
        [{"role": "user", "content": "list 2 failed tasks"}], tools=TOOLS, stream=True
    )
    fragments = [d.tool_call for d in deltas if d.tool_call]
    assert fragments[0].name == "list_tasks" and fragments[0].id == result.tool_calls[0].id
    assert (
        json.loads("".join(f.arguments for f in fragments))
        == result.tool_calls[0].parsed_arguments()
    )


def test_an_id_argument_takes_the_id_quoted_in_the_message() -> None:
    from routing.providers.offline import match_arguments

    schema = {
        "type": "object",
        "properties": {
            "fingerprint": {"type": "string", "description": "Its id."},
            "note": {"type": "string"},
        },
        "required": ["fingerprint", "note"],
    }
    message = 'Fix it. Details: {"key": "logs:98eff5397181f394", "count": 22}'

    arguments, missing = match_arguments(schema, message)

    assert arguments == {"fingerprint": "98eff5397181f394"}
    assert missing == ["note"]  # not an id, not quoted: not the words themselves
