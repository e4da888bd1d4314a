"""Running management commands as an operator does: in a process of their own."""

from __future__ import annotations

import os
import subprocess
import sys


def run_manage(*args: str) -> subprocess.CompletedProcess[str]:
    """`manage.py ARGS` in a process of its own, as an operator runs it, on the test database."""
    from tests.chat.live import ROOT, database_url_for_children

    env = {**os.environ, "DATABASE_URL": database_url_for_children(), "LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_readable_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """A command that failed as it should: a non-zero exit and one line, no traceback."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]
