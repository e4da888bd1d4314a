"""Log levels as names and numbers: entries store the name, rules compare numbers."""

from __future__ import annotations

from django.db import models


class Level(models.TextChoices):
    UNKNOWN = "", "Unknown"
    DEBUG = "DEBUG", "Debug"
    INFO = "INFO", "Info"
    WARNING = "WARNING", "Warning"
    ERROR = "ERROR", "Error"
    CRITICAL = "CRITICAL", "Critical"


LEVEL_NUMBERS: dict[str, int] = {
    "": 0,
    "DEBUG": 10,
    "INFO": 20,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
}


def level_number(level: str) -> int:
    return LEVEL_NUMBERS.get(level, 0)


def levels_at_or_above(level: str) -> list[str]:
    """The level names at least as severe as ``level`` (the unknown level never counts)."""
    floor = max(level_number(level), 1)
    return [name for name, number in LEVEL_NUMBERS.items() if number >= floor]


def worse_level(first: str, second: str) -> str:
    return first if level_number(first) >= level_number(second) else second


def level_for_status_class(status_class: str) -> str:
    """The level an HTTP access line carries when its line names none."""
    if status_class == "5xx":
        return Level.ERROR
    if status_class == "4xx":
        return Level.WARNING
    return Level.INFO
