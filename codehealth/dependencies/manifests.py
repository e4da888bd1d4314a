"""The dependencies a repository declares, and the versions its lock files pin.

Read from the commit (never the work tree): ``pyproject.toml`` (PEP 621 dependencies,
optional dependencies, PEP 735 dependency groups, Poetry's tables), ``requirements*.txt``,
``uv.lock`` and ``poetry.lock`` for Python; ``package.json`` and ``package-lock.json``
(lockfile v2/v3) for npm. A version is known only where it is pinned (``==``) or locked:
a range says which versions are allowed, not which one is installed, so it is never
audited as one.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

PYPI = "PyPI"
NPM = "npm"
_REQUIREMENTS = re.compile(r"(^|/)requirements[^/]*\.txt$|(^|/)requirements/[^/]+\.txt$")
_DEV_GROUPS = frozenset({"dev", "test", "tests", "testing", "lint", "docs", "typing"})


def normalise(ecosystem: str, name: str) -> str:
    """PEP 503 for PyPI (``Django_Q2`` is ``django-q2``); npm names are exact (lower)."""
    return canonicalize_name(name) if ecosystem == PYPI else name.strip().lower()


@dataclass(frozen=True)
class Declared:
    """A dependency as one manifest declares it."""

    ecosystem: str
    name: str  # normalised
    spec: str  # the range as written ("" for any)
    manifest: str
    dev: bool = False


@dataclass
class Locked:
    """A package at one known version, with every file that pins or locks it."""

    ecosystem: str
    name: str  # normalised
    version: str
    manifests: list[str] = field(default_factory=list)


@dataclass
class Inventory:
    declared: list[Declared] = field(default_factory=list)
    locked: list[Locked] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "path: why"

    @property
    def ecosystems(self) -> set[str]:
        return {d.ecosystem for d in self.declared} | {p.ecosystem for p in self.locked}

    def direct(self) -> list[Declared]:
        """What the project itself asks for: pyproject.toml and package.json, where they
        declare anything for the ecosystem; requirements files only otherwise (next to a
        pyproject they are usually its lock, listing every transitive package)."""
        primary = {"pyproject.toml", "package.json"}
        by_manifest = {d.ecosystem for d in self.declared if _name(d.manifest) in primary}
        return [
            d
            for d in self.declared
            if _name(d.manifest) in primary or d.ecosystem not in by_manifest
        ]

    def unpinned(self) -> list[Declared]:
        """Declared dependencies no lock file or pin gives a version for."""
        known = {(p.ecosystem, p.name) for p in self.locked}
        seen: set[tuple[str, str]] = set()
        out = []
        for item in self.declared:
            key = (item.ecosystem, item.name)
            if key not in known and key not in seen:
                seen.add(key)
                out.append(item)
        return out


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def manifest_paths(files: Iterable[str]) -> list[str]:
    names = {"pyproject.toml", "package.json", "package-lock.json", "uv.lock", "poetry.lock"}
    return sorted(
        p
        for p in files
        if "node_modules/" not in p and (p.rsplit("/", 1)[-1] in names or _REQUIREMENTS.search(p))
    )


def _pin(spec: str) -> str | None:
    """The one version a specifier allows (``==1.2.3``, ``===1.2.3``), else None."""
    match = re.fullmatch(r"\s*===?\s*([^,;*\s]+)\s*", spec)
    return match.group(1) if match else None


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _python_lines(lines: Iterable[str], manifest: str, *, dev: bool) -> list[Declared]:
    out = []
    for line in lines:
        requirement = _requirement(line)
        if requirement is not None:
            out.append(
                Declared(
                    PYPI,
                    normalise(PYPI, requirement.name),
                    str(requirement.specifier),
                    manifest,
                    dev,
                )
            )
    return out


def _pyproject(path: str, data: dict[str, Any]) -> list[Declared]:
    project = data.get("project") or {}
    out = _python_lines(project.get("dependencies") or [], path, dev=False)
    for group, lines in (project.get("optional-dependencies") or {}).items():
        out += _python_lines(lines, path, dev=group.lower() in _DEV_GROUPS)
    for lines in (data.get("dependency-groups") or {}).values():
        out += _python_lines([x for x in lines if isinstance(x, str)], path, dev=True)
    return out + _poetry(path, (data.get("tool") or {}).get("poetry") or {})


def _poetry(path: str, poetry: dict[str, Any]) -> list[Declared]:
    """Poetry's own tables: ``dependencies`` and each group's (development ones)."""
    tables = [(poetry.get("dependencies") or {}, False)]
    tables += [(poetry.get("dev-dependencies") or {}, True)]
    tables += [
        ((group or {}).get("dependencies") or {}, True)
        for group in (poetry.get("group") or {}).values()
    ]
    out = []
    for table, dev in tables:
        for name, spec in table.items():
            if name.lower() == "python":
                continue
            version = spec.get("version", "") if isinstance(spec, dict) else str(spec)
            out.append(Declared(PYPI, normalise(PYPI, name), str(version), path, dev))
    return out


def _requirements_txt(path: str, text: str) -> list[Declared]:
    joined = re.sub(r"\\\r?\n", " ", text)
    lines = []
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        lines.append(re.split(r"\s--", line, maxsplit=1)[0].strip())
    return _python_lines(lines, path, dev="dev" in path.rsplit("/", 1)[-1])


def _toml_lock(path: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (str(p["name"]), str(p["version"]))
        for p in data.get("package") or []
        if isinstance(p, dict)
        and p.get("name")
        and p.get("version")
        # uv.lock lists the project itself as an editable/virtual source
        and not (p.get("source") or {}).get("editable")
        and not (p.get("source") or {}).get("virtual")
    ]


def _package_json(path: str, data: dict[str, Any]) -> list[Declared]:
    out = []
    for key, dev in (
        ("dependencies", False),
        ("optionalDependencies", False),
        ("peerDependencies", False),
        ("devDependencies", True),
    ):
        for name, spec in (data.get(key) or {}).items():
            out.append(Declared(NPM, normalise(NPM, name), str(spec), path, dev))
    return out


def _package_lock(data: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, entry in (data.get("packages") or {}).items():
        if not key or "node_modules/" not in key or not isinstance(entry, dict):
            continue
        if entry.get("version") and not entry.get("link"):
            out.append((key.rsplit("node_modules/", 1)[-1], str(entry["version"])))
    return out


def read_inventory(files: Iterable[str], read: Callable[[str], bytes | None]) -> Inventory:
    """Every manifest and lock file of the commit, read through `read`."""
    inventory = Inventory()
    locked: dict[tuple[str, str, str], Locked] = {}

    def lock(ecosystem: str, name: str, version: str, manifest: str) -> None:
        key = (ecosystem, normalise(ecosystem, name), version)
        entry = locked.setdefault(key, Locked(ecosystem, key[1], version))
        if manifest not in entry.manifests:
            entry.manifests.append(manifest)

    for path in manifest_paths(files):
        data = read(path)
        if data is None:
            continue
        name = path.rsplit("/", 1)[-1]
        try:
            text = data.decode()
            if name == "pyproject.toml":
                inventory.declared += _pyproject(path, tomllib.loads(text))
            elif name in ("uv.lock", "poetry.lock"):
                for package, version in _toml_lock(path, tomllib.loads(text)):
                    lock(PYPI, package, version, path)
            elif name == "package.json":
                inventory.declared += _package_json(path, json.loads(text))
            elif name == "package-lock.json":
                for package, version in _package_lock(json.loads(text)):
                    lock(NPM, package, version, path)
            else:
                declared = _requirements_txt(path, text)
                inventory.declared += declared
                for item in declared:
                    if (pinned := _pin(item.spec)) is not None:
                        lock(PYPI, item.name, pinned, path)
        except (UnicodeDecodeError, ValueError, tomllib.TOMLDecodeError, AttributeError) as exc:
            inventory.unreadable.append(f"{path}: {exc}")
    for item in inventory.declared:
        if item.ecosystem == PYPI and (pinned := _pin(item.spec)) is not None:
            lock(PYPI, item.name, pinned, item.manifest)
    inventory.locked = sorted(locked.values(), key=lambda p: (p.ecosystem, p.name, p.version))
    return inventory
