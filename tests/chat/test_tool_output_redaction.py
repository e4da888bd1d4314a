"""A tool's result is redacted before the model, the database or the stream see it."""

from __future__ import annotations

from chat.services.toolcalls import render_output
from routing.redaction import REDACTED


def test_a_structured_tool_result_loses_values_under_secret_names() -> None:
    """Once dumped as JSON, `"cookie": "..."` matches no text pattern: keys decide first."""
    result = {
        "cookie": "sessionid=abc123def",
        "dsn": "https://abc@sentry.example/1",
        "session_id": "s3cr3tvalue",
        "headers": {"Authorization": "Basic dXNlcjpwYXNz"},
        "tasks": 3,
    }

    shown = render_output(result, cap=8000)

    for secret in ("abc123def", "abc@sentry", "s3cr3tvalue", "dXNlcjpwYXNz"):
        assert secret not in shown
    assert '"tasks": 3' in shown
    assert render_output("Authorization: Token jgt_abcdefghijk", cap=8000) == (
        f"Authorization: Token {REDACTED}"
    )
