"""The parts of shared configuration files that decide a tool's rules.

A change elsewhere in `pyproject.toml` (a new dependency) must not count as a change of
the linter's rule set, so only the tool's own table is hashed.
"""

from __future__ import annotations

import configparser
import json
import tomllib
from typing import Any


def toml_table(data: bytes, *keys: str) -> Any:
    """``[tool.<name>]`` of a TOML file, or None (also when the file does not parse)."""
    try:
        node: Any = tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def ini_sections(data: bytes, prefix: str) -> dict[str, dict[str, str]] | None:
    """The sections of an INI file (setup.cfg, mypy.ini) named `prefix` or `prefix-...`."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(data.decode())
    except (configparser.Error, UnicodeDecodeError):
        return None
    sections = {
        name: dict(parser[name])
        for name in parser.sections()
        if name == prefix or name.startswith(f"{prefix}-")
    }
    return sections or None


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=str).encode()
