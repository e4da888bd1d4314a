"""git as a subprocess: fixed argument lists, a neutral configuration, errors as exceptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from codehealth import processes
from codehealth.errors import RepositoryUnavailable

GIT_TIMEOUT_SECONDS = 120

# Whatever the user's or the repository's configuration says, git answers in one shape:
# plain diffs with a/ b/ prefixes, no colour, no pager, no hooks, paths as they are.
NEUTRAL_CONFIG = (
    "-c",
    "core.quotepath=off",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.autocrlf=false",
    "-c",
    "color.ui=false",
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.renames=true",
    "-c",
    "user.name=Juggernaut",
    "-c",
    "user.email=juggernaut@localhost",
    "-c",
    "commit.gpgsign=false",
)


class GitFailed(RepositoryUnavailable):
    def __init__(self, args: Sequence[str], exit_code: int | None, stderr: str) -> None:
        self.args_run = tuple(args)
        self.exit_code = exit_code
        self.stderr = stderr
        shown = " ".join(args[:3])
        ended = "timed out" if exit_code is None else f"exited {exit_code}"
        super().__init__(f"git {shown} {ended}: {stderr[:500]}")


def git(
    cwd: Path | str,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT_SECONDS,
    ok_codes: tuple[int, ...] = (0,),
) -> processes.Completed:
    """Run ``git <args>`` in `cwd`; `GitFailed` on an exit code not in `ok_codes`."""
    argv = ("git", *NEUTRAL_CONFIG, *args)
    environment = processes.clean_environment({"GIT_OPTIONAL_LOCKS": "0", **(env or {})})
    try:
        done = processes.run(argv, cwd=cwd, env=environment, timeout=timeout, stdin=stdin)
    except OSError as exc:  # no git, or the directory is gone
        raise RepositoryUnavailable(f"cannot run git in {cwd}: {exc}") from exc
    if done.exit_code not in ok_codes:
        raise GitFailed(args, done.exit_code, done.stderr_tail())
    return done


def git_text(cwd: Path | str, *args: str, ok_codes: tuple[int, ...] = (0,)) -> str:
    return git(cwd, *args, ok_codes=ok_codes).stdout.decode(errors="replace")
