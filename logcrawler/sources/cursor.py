"""Cursors: where a source's next crawl starts, stored as JSON on the source row.

Railway stamps lines to the nanosecond and many lines can share one stamp, so a timestamp
alone cannot say which lines at that stamp were already stored. `TimestampCursor` keeps the
newest stamp taken and, for that stamp, how many lines with each content hash were taken:
a page that repeats the stamp yields only the lines beyond those counts, so a crawl never
stores a line twice, and never skips one that shares the stamp with an earlier page.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d{1,9})\d*)?(?P<tz>[Zz]|[+-]\d{2}:?\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NS_PER_SECOND = 1_000_000_000


def parse_rfc3339_ns(value: str) -> int:
    """Nanoseconds since the epoch from RFC 3339 text with up to nine fractional digits.

    ``datetime.fromisoformat`` keeps microseconds at most, and two lines a few nanoseconds
    apart must not compare equal, so the fraction is read here as an integer.
    """
    match = _RFC3339.match(value.strip())
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    whole = datetime.fromisoformat(
        f"{match['date']}T{match['h']}:{match['m']}:{match['s']}"
    ).replace(tzinfo=UTC)
    tz = match["tz"]
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        whole -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    seconds = (whole - _EPOCH) // timedelta(seconds=1)
    fraction = int((match["frac"] or "0").ljust(9, "0"))
    return seconds * NS_PER_SECOND + fraction


def format_rfc3339_ns(ns: int) -> str:
    seconds, fraction = divmod(ns, NS_PER_SECOND)
    whole = _EPOCH + timedelta(seconds=seconds)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def ns_to_datetime(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


def datetime_to_ns(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1) * 1000


def line_hash(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=10).hexdigest()


class Stamped(Protocol):
    """A line as a cursor sees it: its nanosecond stamp and a hash of its content."""

    @property
    def ts_ns(self) -> int: ...

    @property
    def identity(self) -> str: ...


StampedLine = TypeVar("StampedLine", bound=Stamped)


@dataclass
class TimestampCursor:
    ts_ns: int | None = None
    seen: dict[str, int] = field(default_factory=dict)

    def take_new(self, lines: Sequence[StampedLine]) -> list[StampedLine]:
        """The lines not taken before, in stamp order; then the cursor moves past them."""
        ordered = sorted(lines, key=lambda line: line.ts_ns)
        fresh: list[StampedLine] = []
        skip = Counter(self.seen) if self.ts_ns is not None else Counter()
        for line in ordered:
            if self.ts_ns is not None:
                if line.ts_ns < self.ts_ns:
                    continue
                if line.ts_ns == self.ts_ns and skip[line.identity] > 0:
                    skip[line.identity] -= 1
                    continue
            fresh.append(line)
        self._advance(fresh)
        return fresh

    def _advance(self, taken: Iterable[Stamped]) -> None:
        for line in taken:
            if self.ts_ns is None or line.ts_ns > self.ts_ns:
                self.ts_ns = line.ts_ns
                self.seen = {}
            if line.ts_ns == self.ts_ns:
                self.seen[line.identity] = self.seen.get(line.identity, 0) + 1

    def as_json(self) -> dict[str, Any]:
        stamp = format_rfc3339_ns(self.ts_ns) if self.ts_ns is not None else None
        return {"ts": stamp, "seen": dict(self.seen)}

    @classmethod
    def from_json(cls, data: Any) -> TimestampCursor:
        if not isinstance(data, dict) or not data.get("ts"):
            return cls()
        seen = data.get("seen") or {}
        return cls(
            ts_ns=parse_rfc3339_ns(str(data["ts"])),
            seen={str(key): int(value) for key, value in dict(seen).items()},
        )
