"""A file source: follows a log file as it grows, through rotation and truncation.

The cursor holds the file's identity (device and inode), the byte offset after the last
entry stored, and a hash of the file's first bytes. A new inode at the path is a rotation:
the rest of the old file is read first if it is still next to the new one (``app.log.1``),
then the new file from its start. A file shorter than the offset, or whose first bytes
changed (copy-and-truncate that grew back past the offset between two crawls), is read
again from the start.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from logcrawler.fingerprint import ParsedEntry, parse_line
from logcrawler.sources.base import Batch, SourceAdapter, SourceError, register_source_kind
from logcrawler.sources.multiline import EntryJoiner

HEAD_BYTES = 256
CHUNK_BYTES = 1 << 20


@dataclass
class FileCursor:
    inode: int | None = None
    device: int | None = None
    offset: int = 0
    head: str = ""
    head_length: int = 0
    held: int | None = None  # start of an unfinished traceback held back once

    def as_json(self) -> dict[str, Any]:
        return {
            "inode": self.inode,
            "device": self.device,
            "offset": self.offset,
            "head": self.head,
            "head_length": self.head_length,
            "held": self.held,
        }

    @classmethod
    def from_json(cls, data: Any) -> FileCursor:
        if not isinstance(data, dict) or data.get("inode") is None:
            return cls()
        return cls(
            inode=int(data["inode"]),
            device=int(data.get("device") or 0),
            offset=int(data.get("offset") or 0),
            head=str(data.get("head") or ""),
            head_length=int(data.get("head_length") or 0),
            held=None if data.get("held") is None else int(data["held"]),
        )

    def same_file(self, stat: os.stat_result) -> bool:
        return (self.inode, self.device) == (stat.st_ino, stat.st_dev)


def _head(path: Path, length: int) -> tuple[str, int]:
    with path.open("rb") as handle:
        data = handle.read(length)
    return hashlib.blake2b(data, digest_size=10).hexdigest(), len(data)


def _find_rotated(path: Path, cursor: FileCursor) -> Path | None:
    """The old file, renamed next to the new one (``app.log.1``, ``app.log-20250101``)."""
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return None
    for sibling in sorted(siblings):
        if sibling == path or not sibling.name.startswith(path.name):
            continue
        try:
            stat = sibling.stat()
        except OSError:
            continue
        if cursor.same_file(stat):
            return sibling
    return None


class _EntryReader:
    """Complete entries from a byte offset on, each with the offset just after it."""

    def __init__(self, handle: IO[bytes], start: int, *, final: bool, held: int | None) -> None:
        self.handle = handle
        self.offset = start
        self.final = final
        self.held = held
        self.hold_at: int | None = None

    def lines(self) -> Iterator[tuple[str, int, int]]:
        self.handle.seek(self.offset)
        position = self.offset
        rest = b""
        while chunk := self.handle.read(CHUNK_BYTES):
            data = rest + chunk
            pieces = data.split(b"\n")
            rest = pieces.pop()
            for piece in pieces:
                end = position + len(piece) + 1
                yield piece.decode("utf-8", errors="replace").rstrip("\r"), position, end
                position = end
        if rest and self.final:
            yield (
                rest.decode("utf-8", errors="replace").rstrip("\r"),
                position,
                position + len(rest),
            )

    def entries(self) -> Iterator[tuple[str, int]]:
        joiner = EntryJoiner()
        current: list[str] = []
        start = end = self.offset
        for text, line_start, line_end in self.lines():
            if joiner.continues(text) and current:
                current.append(text)
                end = line_end
                continue
            if current:
                yield "\n".join(current).rstrip(), end
            current, start, end = [text], line_start, line_end
        if not current:
            return
        if joiner.incomplete and not self.final and self.held != start:
            # The rest of the traceback is probably being written: wait one crawl for it.
            self.hold_at = start
            return
        yield "\n".join(current).rstrip(), end


def allowed_path(raw: str) -> Path | None:
    """The file, resolved (links and ``..`` followed), if it lies under one of the
    LOGCRAWLER_FILE_ROOTS; None otherwise. A log source must not become a way to read the
    server's secrets (``/proc/self/environ``, the secret key file) into entries every user
    can search."""
    path = Path(raw).expanduser().resolve()
    for root in settings.LOGCRAWLER_FILE_ROOTS:
        base = Path(root).expanduser().resolve()
        if path == base or base in path.parents:
            return path
    return None


def outside_roots_message() -> str:
    roots = ", ".join(settings.LOGCRAWLER_FILE_ROOTS) or "(none)"
    return f"Only files under {roots} may be followed (LOGCRAWLER_FILE_ROOTS)."


@register_source_kind
class FileSource(SourceAdapter):
    kind = "file"
    label = "File"

    @classmethod
    def settings_errors(cls, settings: dict[str, Any]) -> dict[str, str]:
        errors = {}
        raw = str(settings.get("path") or "").strip()
        if not raw:
            errors["path"] = "The file to follow is required."
        elif allowed_path(raw) is None:
            errors["path"] = outside_roots_message()
        if settings.get("start_at", "beginning") not in ("beginning", "end"):
            errors["start_at"] = "beginning or end"
        return errors

    @property
    def path(self) -> Path:
        return Path(str(self.source.settings.get("path") or "")).expanduser()

    def batches(self) -> Iterator[Batch]:
        path = allowed_path(str(self.path))
        if path is None:  # a source saved before the roots changed, or edited in the admin
            raise SourceError(outside_roots_message())
        first_crawl = not self.source.cursor
        cursor = FileCursor.from_json(self.source.cursor)
        try:
            stat = path.stat()
        except OSError as exc:
            raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
        if cursor.inode is not None and not cursor.same_file(stat):
            old = _find_rotated(path, cursor)
            if old is not None:
                yield from self._read(old, cursor, final=True)
            self.notes.add(f"rotated: now reading the new {path.name} from its start")
            cursor = FileCursor()
        if cursor.inode is None:
            cursor = FileCursor(inode=stat.st_ino, device=stat.st_dev)
            if first_crawl and self.source.settings.get("start_at") == "end":
                cursor.offset = stat.st_size
        elif stat.st_size < cursor.offset:
            self.notes.add(f"truncated: reading {path.name} again from its start")
            cursor.offset = 0
        elif cursor.head_length and _head(path, cursor.head_length)[0] != cursor.head:
            self.notes.add(f"replaced: {path.name} has new contents; reading from its start")
            cursor.offset = 0
        yield from self._read(path, cursor, final=False)

    def _read(self, path: Path, cursor: FileCursor, *, final: bool) -> Iterator[Batch]:
        size = int(settings.LOGCRAWLER_BATCH_LINES)
        service = self.source.service_name()
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from None
        with handle:
            reader = _EntryReader(handle, cursor.offset, final=final, held=cursor.held)
            entries: list[ParsedEntry] = []
            for text, end in reader.entries():
                entries.append(parse_line(text, service=service))
                cursor.offset = end
                if len(entries) >= size:
                    yield Batch(entries, self._cursor_json(path, cursor, final=final))
                    entries = []
            cursor.held = reader.hold_at
            # Even without entries: the cursor may have moved (a new file, a truncation).
            yield Batch(entries, self._cursor_json(path, cursor, final=final))

    def _cursor_json(self, path: Path, cursor: FileCursor, *, final: bool) -> dict[str, Any]:
        if final:
            # The old file is done: the next position is the start of the new one.
            return FileCursor().as_json()
        if cursor.head_length < HEAD_BYTES:
            cursor.head, cursor.head_length = _head(path, HEAD_BYTES)
        return cursor.as_json()
