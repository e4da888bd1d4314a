"""Python tracebacks: one multi-line entry, grouped by exception type and the app's frames.

Line numbers, values in the message and library frames (site-packages, the standard library)
change with every deploy, dependency upgrade or input; the exception type and the path
through the application's own code are what identify the bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TRACEBACK_HEADER = "Traceback (most recent call last):"

_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<function>.+))?$')
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")
_LIBRARY_MARKERS = (
    "/site-packages/",
    "/dist-packages/",
    "/lib/python",
    "/lib64/python",
    "/.venv/",
    "/venv/",
    "<frozen ",
)
_KEPT_PATH_PARTS = 2


@dataclass(frozen=True, slots=True)
class Frame:
    path: str
    line: int
    function: str

    @property
    def is_library(self) -> bool:
        path = self.path.replace("\\", "/").lower()
        return any(marker in path for marker in _LIBRARY_MARKERS)

    @property
    def location(self) -> str:
        """Where the frame is, stable across checkouts: the last path parts and function."""
        parts = [part for part in self.path.replace("\\", "/").split("/") if part]
        return "/".join(parts[-_KEPT_PATH_PARTS:]) + ":" + self.function


@dataclass(frozen=True, slots=True)
class Traceback:
    exception_type: str
    exception_message: str
    frames: tuple[Frame, ...]

    @property
    def app_frames(self) -> tuple[Frame, ...]:
        return tuple(frame for frame in self.frames if not frame.is_library)

    @property
    def key(self) -> tuple[str, ...]:
        """Exception type, then the app's frames outermost first, without line numbers.

        A traceback that never enters app code keeps its innermost frame, so that two
        different library failures of the same type are not one fingerprint.
        """
        frames = self.app_frames or self.frames[-1:]
        return (self.exception_type, *(frame.location for frame in frames))


def _last_block(message: str) -> list[str]:
    # Chained exceptions print one traceback per cause; the last one is what was raised.
    start = message.rfind(TRACEBACK_HEADER)
    return message[start + len(TRACEBACK_HEADER) :].splitlines()


def parse_traceback(message: str) -> Traceback | None:
    """The raised exception and its frames, or None when ``message`` holds no traceback."""
    if TRACEBACK_HEADER not in message:
        return None
    frames: list[Frame] = []
    exception: re.Match[str] | None = None
    for line in _last_block(message):
        frame = _FRAME.match(line)
        if frame is not None:
            function = (frame.group("function") or "<module>").strip()
            frames.append(Frame(frame.group("path"), int(frame.group("line")), function))
            continue
        if frames and line and not line[0].isspace():
            exception = _EXCEPTION.match(line.strip())
            if exception is not None:
                break
    if exception is None:
        return None
    return Traceback(
        exception_type=exception.group("type"),
        exception_message=(exception.group("message") or "").strip(),
        frames=tuple(frames),
    )
