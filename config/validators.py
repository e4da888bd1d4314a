"""Validators every app's names share (log sources, workers, and later repositories)."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

# Bidirectional overrides and isolates: they make a name display as something else.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def refuse_control_characters(value: str) -> None:
    """A name is shown in pages, logs and terminals: no NUL, newline, tab, escape (C0, DEL,
    C1) or bidirectional control may hide in it or rewrite what is around it."""
    for character in value:
        if unicodedata.category(character) == "Cc" or character in BIDI_CONTROLS:
            raise ValidationError(
                "Names may not contain control characters (U+%(code)04X).",
                code="control_character",
                params={"code": ord(character)},
            )
