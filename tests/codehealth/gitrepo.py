"""Small git repositories made by the tests: write files, commit, move, rename."""

from __future__ import annotations

import subprocess
from pathlib import Path
from textwrap import dedent

RUFF_CONFIG = """\
[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["F", "E711", "B006", "UP"]

# These repositories are about lint: the stale-code scanner's tests use their own.
[tool.vulture]
ignore_names = ["*"]
"""


class GitRepo:
    """A work tree with its own history; every commit returns its full id."""

    def __init__(self, root: Path, *, branch: str = "main") -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.name", "Test")
        self.git("config", "user.email", "test@example.com")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dedent(text))

    def remove(self, path: str) -> None:
        self.git("rm", "-q", path)

    def move(self, old: str, new: str) -> None:
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def branch(self) -> str:
        return self.git("symbolic-ref", "--short", "HEAD")

    def status(self) -> str:
        return self.git("status", "--porcelain")


def python_repo(root: Path, files: dict[str, str], *, config: str = RUFF_CONFIG) -> GitRepo:
    """A repository with a ruff configuration and these Python files, committed."""
    repo = GitRepo(root)
    repo.write("pyproject.toml", config)
    for path, text in files.items():
        repo.write(path, text)
    repo.commit("first")
    return repo
