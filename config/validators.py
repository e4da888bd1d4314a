"""Validators every app's names share (log sources, workers, and later repositories)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.utils.deconstruct import deconstructible

# C0 controls and DEL, C1 controls, and the bidirectional overrides and isolates, which make a
# name display as something else.
CONTROL_CHARACTERS = "\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"


@deconstructible(path="config.validators.ControlCharacterValidator")
class ControlCharacterValidator(RegexValidator):
    """A name is shown in pages, logs and terminals: no NUL, newline, tab, escape or
    bidirectional control may hide in it or rewrite what is around it. A RegexValidator, so
    that the API schema states it as a pattern."""

    regex = f"^[^{CONTROL_CHARACTERS}]*\\Z"
    message = "Names may not contain control characters (newlines, tabs, NUL, escapes)."
    code = "control_character"


refuse_control_characters = ControlCharacterValidator()
