from __future__ import annotations

import pytest

from routing.redaction import REDACTED, redact, redact_text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Token jgt_abcdefghijklmnopqrstuvwxyz", "jgt_abcdefghijklmnopqrstuvwxyz"),
        ("authorization=Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9"),
        ("worker token jgw_0123456789abcdefghij", "0123456789abcdefghij"),
        ("OPENROUTER_API_KEY=sk-or-v1-0123456789abcdef", "0123456789abcdef"),
        ("the key is sk-proj-ABCDEFGH12345678", "ABCDEFGH12345678"),
        ('{"password": "hunter2"}', "hunter2"),
        ("db_password: s3cr3t!", "s3cr3t!"),
        ('{"token": "abc123def"}', "abc123def"),
        ("postgres://app:pa55word@db:5432/x", "pa55word"),
        ("ghp_0123456789abcdefghijklmnopqrstuvwxyz", "0123456789abcdefghijklmnop"),
        ("AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
        ('{"Authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz"),
        ("{'authorization': 'short1'}", "short1"),
    ],
)
def test_secrets_in_text_are_replaced(text: str, secret: str) -> None:
    cleaned = redact_text(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


@pytest.mark.parametrize(
    "text",
    [
        '"prompt_tokens": 12',
        "the task's author is nina",
        "Set OPENROUTER_API_KEY to use one.",
        "list tasks",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_values_under_secret_names_are_replaced_in_structures() -> None:
    value = {
        "apiKey": "abc",
        "nested": [{"client_secret": "s", "X-Auth-Token": "t"}],
        "author": "nina",
        "token_count": 12,
        "note": "Bearer abcdefghijklmnopqrstuv",
    }
    assert redact(value) == {
        "apiKey": REDACTED,
        "nested": [{"client_secret": REDACTED, "X-Auth-Token": REDACTED}],
        "author": "nina",
        "token_count": 12,
        "note": f"Bearer {REDACTED}",
    }


def test_redaction_is_idempotent() -> None:
    once = redact_text("password=hunter2 Authorization: Token jgt_abcdefghijk")
    assert redact_text(once) == once
