"""What the code imports is what the package requires, and the lock files pin all of it.

The wheel check in CI (`.ci/wheel_check`) proves the same by installing the wheel alone;
these catch it in `make test`, naming the import or the requirement.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The packages the wheel ships, as pyproject.toml's package discovery names them.
OUR_PACKAGES = {
    pattern.removesuffix("*")
    for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
}


def imported_top_names(package: str) -> dict[str, str]:
    """Top-level names imported anywhere in `package`, each with one file that imports it."""
    found: dict[str, str] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.partition(".")[0], str(path.relative_to(ROOT)))
    return found


@cache
def runtime_closure() -> frozenset[str]:
    """The distributions `pip install juggernaut` brings: the dependencies, recursively."""
    seen: set[str] = set()
    pending = [Requirement(line) for line in PYPROJECT["project"]["dependencies"]]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        extras = requirement.extras or {""}
        try:
            children = requires(name) or []
        except PackageNotFoundError:
            continue
        for line in children:
            child = Requirement(line)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
                pending.append(child)
    return frozenset(seen)


def test_every_third_party_import_is_a_runtime_dependency() -> None:
    distributions = packages_distributions()
    missing = {}
    for package in OUR_PACKAGES:
        for name, where in imported_top_names(package).items():
            if name in sys.stdlib_module_names or name in OUR_PACKAGES or name == "__future__":
                continue
            owners = {canonicalize_name(d) for d in distributions.get(name, [])}
            if not owners & runtime_closure():
                missing[name] = where
    assert missing == {}, f"imported at run time but not in [project] dependencies: {missing}"


def locked(path: Path) -> dict[str, str]:
    """`name==version` pins of a requirements file; a name twice (per platform) keeps both."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith(("#", "-")):
            requirement = Requirement(line.rstrip(" \\"))
            version = str(requirement.specifier).removeprefix("==")
            name = canonicalize_name(requirement.name)
            pins[name] = f"{pins[name]}|{version}" if name in pins else version
    return pins


def unmet(requirements: list[str], pins: dict[str, str]) -> list[str]:
    problems = []
    for line in requirements:
        requirement = Requirement(line)
        versions = pins.get(canonicalize_name(requirement.name))
        if versions is None:
            problems.append(f"{line}: not locked")
        elif not all(requirement.specifier.contains(v) for v in versions.split("|")):
            problems.append(f"{line}: locked at {versions}")
    return problems


def test_the_lock_files_pin_every_range_of_pyproject() -> None:
    runtime = PYPROJECT["project"]["dependencies"]
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    hint = "run `make lock` and commit requirements.txt and requirements-dev.txt"

    assert unmet(runtime, locked(ROOT / "requirements.txt")) == [], hint
    assert unmet(runtime + dev, locked(ROOT / "requirements-dev.txt")) == [], hint


def test_the_runtime_lock_is_the_dev_lock_without_the_tools() -> None:
    runtime, dev = locked(ROOT / "requirements.txt"), locked(ROOT / "requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_every_locked_package_has_hashes() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        lines = (ROOT / name).read_text().splitlines()
        pins = [
            n for n, line in enumerate(lines) if line and not line[0].isspace() and line[0] != "#"
        ]
        assert len(pins) == len(locked(ROOT / name)) + sum(
            v.count("|") for v in locked(ROOT / name).values()
        )
        unhashed = [lines[n] for n in pins if not lines[n + 1].strip().startswith("--hash=sha256:")]
        assert unhashed == [], f"{name}: pinned without a hash"
