"""The scanner registry: one shape (`Scanner`), registered in `CodehealthConfig.ready()`.

Adding a scanner: subclass `Scanner` in ``codehealth/scanners/<tool>.py`` with `plan` (does
the tool apply at this commit, which version, which configuration) and `run` (findings in
the normal form, `RawFinding`), then ``register_scanner(MyScanner())`` in ``ready()``.
"""

from __future__ import annotations

from codehealth.scanners.base import (
    Plan,
    ScanContext,
    Scanner,
    ScannerResult,
    config_hash,
    tool_version,
)

_scanners: dict[str, Scanner] = {}


def register_scanner(scanner: Scanner, *, replace: bool = False) -> None:
    if scanner.name in _scanners and not replace and _scanners[scanner.name] is not scanner:
        raise ValueError(f"a scanner named {scanner.name!r} is already registered")
    _scanners[scanner.name] = scanner


def unregister_scanner(name: str) -> None:
    _scanners.pop(name, None)


def registered_scanners() -> list[Scanner]:
    return list(_scanners.values())


def register_builtin_scanners() -> None:
    from codehealth.dependencies.sources import OsvSnapshot, register_advisory_source
    from codehealth.scanners.advisories import AdvisoryScanner
    from codehealth.scanners.contract import ContractScanner
    from codehealth.scanners.deptry import DeptryScanner
    from codehealth.scanners.django_checks import DjangoChecksScanner
    from codehealth.scanners.eslint import EslintScanner
    from codehealth.scanners.mypy import MypyScanner
    from codehealth.scanners.outdated import OutdatedScanner
    from codehealth.scanners.ruff import RuffScanner
    from codehealth.scanners.typescript import TypeScriptScanner
    from codehealth.scanners.vulture import VultureScanner

    for scanner in (
        RuffScanner(),
        MypyScanner(),
        TypeScriptScanner(),
        EslintScanner(),
        VultureScanner(),
        ContractScanner(),
        DjangoChecksScanner(),
        DeptryScanner(),
        OutdatedScanner(),
        AdvisoryScanner(),
    ):
        register_scanner(scanner, replace=True)
    register_advisory_source(OsvSnapshot())


__all__ = [
    "Plan",
    "ScanContext",
    "Scanner",
    "ScannerResult",
    "config_hash",
    "register_builtin_scanners",
    "register_scanner",
    "registered_scanners",
    "tool_version",
    "unregister_scanner",
]
