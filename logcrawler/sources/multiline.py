"""Multi-line entries: a Python traceback that arrives one line per entry becomes one entry.

Files and Railway hand over a traceback line by line; fingerprinting each line alone would
make one "error" per frame. `EntryJoiner` decides for each line whether it continues the
entry before it: a traceback header after an error-looking line (``logger.exception``), the
indented frame and source lines, the exception line that ends the traceback, the chaining
sentences between tracebacks, and any indented line after an entry (Java's ``\\tat``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from logcrawler.fingerprint import ParsedEntry
from logcrawler.fingerprint.stacktrace import TRACEBACK_HEADER
from logcrawler.levels import level_number, worse_level

_CHAINING = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
# Words that make a line look like it announces the traceback that follows it.
_ANNOUNCES = ("error", "exception", "critical", "fatal", "fail", "warn", "traceback")
WARNING_NUMBER = level_number("WARNING")
# First characters of a line that may continue an entry outside a traceback: indentation,
# and the T of a traceback header.
_MAYBE_CONTINUES = frozenset(" \tT")


class EntryJoiner:
    """Feed lines in order; ``continues`` says whether each one belongs to the entry before."""

    __slots__ = (
        "_after_chaining",
        "_awaiting_exception",
        "_first",
        "_has_entry",
        "_in_traceback",
        "_level",
    )

    def __init__(self) -> None:
        self._has_entry = False
        self._first = ""
        self._level = ""
        self._in_traceback = False
        self._awaiting_exception = False
        self._after_chaining = False

    @property
    def incomplete(self) -> bool:
        """The current entry is a traceback whose exception line has not arrived yet."""
        return self._in_traceback and (self._awaiting_exception or self._after_chaining)

    def continues(self, line: str, *, level: str = "") -> bool:
        """Whether ``line`` (with its level, when the source gives one) continues the entry."""
        # Most lines start an entry and no traceback is open: decide that without more work.
        if not self._in_traceback and line[:1] not in _MAYBE_CONTINUES:
            self._start(line, level)
            return False
        joined = self._continues(line)
        if not joined:
            self._start(line, level)
        return joined

    def _start(self, line: str, level: str) -> None:
        self._has_entry = True
        self._first = line
        self._level = level
        header = line.startswith(TRACEBACK_HEADER)
        self._in_traceback = header or (TRACEBACK_HEADER in line and "\n" in line)
        self._awaiting_exception = header
        self._after_chaining = False

    def _announces(self) -> bool:
        """The entry's first line looks like it introduces the traceback that follows."""
        first = self._first
        if level_number(self._level) >= WARNING_NUMBER or first.rstrip().endswith(":"):
            return True
        lowered = first.lower()
        return any(word in lowered for word in _ANNOUNCES)

    def _continues(self, line: str) -> bool:
        if not self._has_entry:
            return False
        if line.startswith(TRACEBACK_HEADER):
            if self._after_chaining or (not self._in_traceback and self._announces()):
                self._in_traceback = True
                self._awaiting_exception = True
                self._after_chaining = False
                return True
            return False
        indented = line[:1] in (" ", "\t")
        blank = not line.strip()
        if self._in_traceback:
            if self._awaiting_exception:
                if not indented and not blank:
                    self._awaiting_exception = False  # the exception line ends it
                return True
            if line.strip() in _CHAINING:
                self._after_chaining = True
                return True
            return blank or indented or self._after_chaining
        return indented and not blank


def join_lines(lines: Sequence[str]) -> list[tuple[int, int]]:
    """Index ranges ``[start, end)`` of the entries that ``lines`` make."""
    joiner = EntryJoiner()
    spans: list[tuple[int, int]] = []
    for index, line in enumerate(lines):
        if joiner.continues(line) and spans:
            spans[-1] = (spans[-1][0], index + 1)
        else:
            spans.append((index, index + 1))
    return spans


def join_entries(entries: Sequence[ParsedEntry]) -> list[ParsedEntry]:
    """Entries whose messages continue the one before (same service) merged into it: the
    first one's time and attributes, the worst level, the messages joined by newlines."""
    joined: list[ParsedEntry] = []
    joiner = EntryJoiner()
    service = None
    for entry in entries:
        if entry.service != service:
            joiner = EntryJoiner()
            service = entry.service
        if joiner.continues(entry.message, level=entry.level) and joined:
            last = joined[-1]
            joined[-1] = replace(
                last,
                message=f"{last.message}\n{entry.message}",
                level=worse_level(last.level, entry.level),
            )
        else:
            joined.append(entry)
    return [replace(entry, message=entry.message.rstrip()) for entry in joined]
