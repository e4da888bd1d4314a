"""Declared dependencies and pinned or locked versions, read from a commit's files."""

from __future__ import annotations

import json

from codehealth.dependencies.manifests import Declared, read_inventory

PYPROJECT = b"""
[project]
name = "shop"
dependencies = ["Django>=5.2,<5.3", "requests==2.30.0", "Django_Q2>=1.7 ; python_version >= '3.11'"]

[project.optional-dependencies]
dev = ["pytest>=8"]

[dependency-groups]
lint = ["ruff==0.8.0"]
"""
REQUIREMENTS = b"""\
# via make lock
django==5.2.9 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
-r base.txt
psutil>=5.9  # not pinned
"""
PACKAGE_JSON = json.dumps(
    {"dependencies": {"lodash": "^4.17.0"}, "devDependencies": {"@types/node": "^22"}}
).encode()
PACKAGE_LOCK = json.dumps(
    {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "shop"},
            "node_modules/lodash": {"version": "4.17.11"},
            "node_modules/@types/node": {"version": "22.1.0", "dev": True},
            "node_modules/a/node_modules/lodash": {"version": "4.17.21"},
            "node_modules/local-thing": {"link": True, "resolved": "../x"},
        },
    }
).encode()


def inventory(files: dict[str, bytes]):  # type: ignore[no-untyped-def]
    return read_inventory([*files, "src/app.py", "node_modules/x/package.json"], files.get)


def test_pyproject_declares_runtime_and_development_dependencies() -> None:
    found = inventory({"pyproject.toml": PYPROJECT}).declared

    assert Declared("PyPI", "django-q2", ">=1.7", "pyproject.toml") in found
    assert {(d.name, d.dev) for d in found} == {
        ("django", False),
        ("requests", False),
        ("django-q2", False),
        ("pytest", True),
        ("ruff", True),
    }


def test_only_pins_and_locks_give_versions() -> None:
    found = inventory(
        {
            "pyproject.toml": PYPROJECT,
            "requirements.txt": REQUIREMENTS,
            "package.json": PACKAGE_JSON,
            "web/package-lock.json": PACKAGE_LOCK,
        }
    )

    assert {(p.ecosystem, p.name, p.version) for p in found.locked} == {
        ("PyPI", "requests", "2.30.0"),
        ("PyPI", "ruff", "0.8.0"),
        ("PyPI", "django", "5.2.9"),
        ("npm", "lodash", "4.17.11"),
        ("npm", "lodash", "4.17.21"),
        ("npm", "@types/node", "22.1.0"),
    }
    assert {d.name for d in found.unpinned()} == {"django-q2", "pytest", "psutil"}


def test_an_unreadable_manifest_is_said_not_skipped_silently() -> None:
    found = inventory({"package.json": b"{not json"})

    assert found.declared == []
    assert found.unreadable and found.unreadable[0].startswith("package.json: ")


def test_a_pyprojects_requirements_file_is_its_lock_not_its_wishes() -> None:
    found = inventory({"pyproject.toml": PYPROJECT, "requirements.txt": REQUIREMENTS})
    alone = inventory({"requirements.txt": REQUIREMENTS})

    assert "psutil" not in {d.name for d in found.direct()}
    assert {d.name for d in alone.direct()} == {"django", "psutil"}


def test_poetrys_tables_and_lock_are_read() -> None:
    pyproject = b"""
[tool.poetry.dependencies]
python = "^3.11"
Django = {version = "^5.2", extras = ["argon2"]}

[tool.poetry.group.test.dependencies]
pytest = "^8"
"""
    lock = b"""
[[package]]
name = "django"
version = "5.2.9"

[[package]]
name = "pytest"
version = "8.3.0"
"""
    found = inventory({"pyproject.toml": pyproject, "poetry.lock": lock})

    assert {(d.name, d.spec, d.dev) for d in found.declared} == {
        ("django", "^5.2", False),
        ("pytest", "^8", True),
    }
    assert {(p.name, p.version) for p in found.locked} == {("django", "5.2.9"), ("pytest", "8.3.0")}
