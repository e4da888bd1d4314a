"""The shape every scanner has: plan (cheap, before any checkout), then run on the tree.

`plan` decides from the commit's file list and configuration files whether the tool
applies and what exactly would run (version, configuration hash); a rescan whose plans
all equal an earlier scan's at the same commit reuses that scan without running anything.
`run` works in a checkout of the commit and returns findings in the normal form.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codehealth import processes
from codehealth.normal_form import RawFinding
from codehealth.repositories.base import BlameLine


@dataclass
class ScanContext:
    """What a scanner may know about the repository at the scanned commit."""

    files: tuple[str, ...]
    read: Callable[[str], bytes | None]  # a file's bytes at the commit, or None
    environment: dict[str, str]  # clean, plus the repository's scan_environment
    cache_dir: Path  # kept between scans of this repository
    extend_select: tuple[str, ...] = ()
    # A local checkout's work tree: never scanned (scans read the commit), but its installed
    # JavaScript packages and its tools' caches may be borrowed.
    work_tree: Path | None = None
    # Who last touched lines of a file at the commit (the code host's blame), or None.
    blame: Callable[[str, list[int]], dict[int, BlameLine]] | None = None
    # Names people marked false positives in earlier stale-code findings: never stale again.
    stale_whitelist: tuple[str, ...] = ()
    _file_set: frozenset[str] = field(default=frozenset(), init=False, repr=False)

    def __post_init__(self) -> None:
        self._file_set = frozenset(self.files)

    @property
    def node_modules(self) -> Path | None:
        if self.work_tree is not None and (self.work_tree / "node_modules").is_dir():
            return self.work_tree / "node_modules"
        return None

    def has(self, path: str) -> bool:
        return path in self._file_set

    def named(self, *names: str) -> list[str]:
        """Files anywhere in the tree whose name is one of `names`."""
        wanted = set(names)
        return [p for p in self.files if p.rsplit("/", 1)[-1] in wanted]

    def with_suffix(self, *suffixes: str) -> bool:
        return any(p.endswith(suffixes) for p in self.files)

    def text(self, path: str) -> str | None:
        data = self.read(path)
        return data.decode(errors="replace") if data is not None else None

    def executable(self, name: str, *, first_in: Iterable[Path] = ()) -> str | None:
        for directory in first_in:
            candidate = directory / name
            if candidate.is_file():
                return str(candidate)
        return shutil.which(name, path=self.environment.get("PATH"))


@dataclass(frozen=True)
class Plan:
    tool: str
    version: str = ""
    config_hash: str = ""
    skip_reason: str = ""
    executable: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        return bool(self.skip_reason)

    def signature(self) -> tuple[str, str, str, str]:
        return (self.tool, self.version, self.config_hash, self.skip_reason)


@dataclass
class ScannerResult:
    findings: list[RawFinding]
    exit_code: int | None
    duration_ms: int
    error: str = ""  # set when the tool failed: its findings must not close anything
    # Set when its results may be incomplete (an index unreachable): unseen ones stay open.
    partial: str = ""
    notes: list[str] = field(default_factory=list)  # for the scan's notes


class Scanner(ABC):
    name: str
    title: str = ""

    @abstractmethod
    def plan(self, context: ScanContext) -> Plan:
        """Whether and how the tool runs at this commit; no checkout is made yet."""

    @abstractmethod
    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        """Run the tool in the checkout `root`; paths in findings relative to it."""

    def skip(self, reason: str) -> Plan:
        return Plan(tool=self.name, skip_reason=reason)


def config_hash(tool: str, version: str, files: dict[str, bytes], options: Any = None) -> str:
    """What decides a tool's rule set: its version, its options, its configuration files."""
    digest = hashlib.sha256()
    digest.update(json.dumps([tool, version, options], sort_keys=True, default=str).encode())
    for path in sorted(files):
        digest.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()


_versions: dict[tuple[str, int], str] = {}


def tool_version(executable: str, environment: dict[str, str], *args: str) -> str:
    """`<tool> --version`'s first line, asked once per executable (and per change of it)."""
    try:
        stamp = Path(executable).stat().st_mtime_ns
    except OSError:
        stamp = 0
    key = (executable, stamp)
    if key not in _versions:
        cwd = processes.tool_home()
        try:
            done = processes.run(
                [executable, *(args or ("--version",))], cwd=cwd, env=environment, timeout=60
            )
            lines = (done.stdout or done.stderr).decode(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        _versions[key] = lines[0][:100] if lines else "unknown"
    return _versions[key]


def relative(path: str, root: Path) -> str:
    """A tool's path (absolute, or relative to the checkout) as a repository path."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return candidate.as_posix()
    return candidate.as_posix().removeprefix("./")


def failed(exit_code: int | None, duration_ms: int, error: str) -> ScannerResult:
    return ScannerResult(findings=[], exit_code=exit_code, duration_ms=duration_ms, error=error)
