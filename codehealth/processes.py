"""Running tools: fixed argument lists (never a shell), a clean environment, a time limit
that ends the whole process group, and output kept to a bounded size."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

OUTPUT_TAIL_CHARS = 20_000


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    exit_code: int | None  # None: it ran out of time and was killed
    stdout: bytes
    stderr: bytes
    duration_ms: int

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    def stderr_tail(self, chars: int = 2000) -> str:
        return self.stderr.decode(errors="replace")[-chars:].strip()

    def output_tail(self, chars: int = OUTPUT_TAIL_CHARS) -> str:
        text = (self.stdout + b"\n" + self.stderr).decode(errors="replace")
        return text[-chars:].strip()


def tool_home() -> Path:
    """A HOME of our own: no user's git or tool configuration changes what tools do."""
    home = Path(settings.CODEHEALTH_WORK_DIR) / "home"
    home.mkdir(parents=True, exist_ok=True)
    return home


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a tool sees: the search path and a neutral home, never the server's secrets
    (API keys, database URLs). A repository adds its own variables (`scan_environment`)."""
    # The search path, not a setting: the directory of this interpreter first, so that the
    # tools installed beside it (ruff, mypy) are found before any other.
    path = [str(Path(sys.executable).parent), *os.get_exec_path()]
    env = {
        "PATH": os.pathsep.join(dict.fromkeys(path)),
        "HOME": str(tool_home()),
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_COLOR": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    env.update(extra or {})
    return env


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stdin: bytes | None = None,
) -> Completed:
    """Run `argv` to its end or its time limit; a missing executable raises OSError."""
    limit = timeout if timeout is not None else settings.CODEHEALTH_TOOL_TIMEOUT_SECONDS
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 (a fixed argument list, never a shell)
        list(argv),
        cwd=str(cwd),
        env=dict(env) if env is not None else clean_environment(),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(input=stdin, timeout=limit)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        code = None
    return Completed(
        argv=tuple(argv),
        exit_code=code,
        stdout=stdout,
        stderr=stderr,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.killpg(process.pid, signal.SIGKILL)
