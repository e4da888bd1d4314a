"""deptry: declared dependencies against the imports of the code (its four rules).

DEP001 missing (imported, not declared), DEP002 unused (declared, never imported),
DEP003 transitive (imported, only installed as another package's dependency), DEP004
dev-only (a development dependency imported by the code that runs). Package-to-module
names come from the environment deptry runs in (Juggernaut's own), and a guess otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

from codehealth import processes
from codehealth.dependencies.manifests import PYPI, read_inventory
from codehealth.models import FindingKind, FindingSeverity
from codehealth.normal_form import RawFinding
from codehealth.scanners.base import (
    Plan,
    ScanContext,
    Scanner,
    ScannerResult,
    config_hash,
    failed,
    relative,
    tool_version,
)
from codehealth.scanners.config_files import canonical, toml_table

RULE_SEVERITY = {
    "DEP001": FindingSeverity.HIGH,  # an ImportError waiting for a clean install
    "DEP004": FindingSeverity.HIGH,  # psutil in dev only, imported by selfheal: the same
    "DEP003": FindingSeverity.MEDIUM,
    "DEP002": FindingSeverity.LOW,
}
HELP = "https://deptry.com/rules-violations/#{slug}"
SLUGS = {
    "DEP001": "missing-dependencies-dep001",
    "DEP002": "unused-dependencies-dep002",
    "DEP003": "transitive-dependencies-dep003",
    "DEP004": "misplaced-development-dependencies-dep004",
}


def parse_deptry_json(data: bytes, root: Path) -> list[RawFinding]:
    findings = []
    for item in json.loads(data or b"[]"):
        error = item.get("error") or {}
        code = str(error.get("code") or "DEP000")
        location = item.get("location") or {}
        module = str(item.get("module") or "")
        line = location.get("line")
        findings.append(
            RawFinding(
                tool="deptry",
                rule=code,
                kind=FindingKind.DEPENDENCY,
                severity=RULE_SEVERITY.get(code, FindingSeverity.MEDIUM),
                message=str(error.get("message") or code),
                path=relative(str(location.get("file") or ""), root),
                line=line,
                column=location.get("column"),
                # A declaration (DEP002) has no line: the package names it.
                anchor="" if line else module,
                help_url=HELP.format(slug=SLUGS.get(code, "")),
            )
        )
    return findings


class DeptryScanner(Scanner):
    name = "deptry"
    title = "deptry (declared dependencies against imports)"

    def plan(self, context: ScanContext) -> Plan:
        # deptry reads PEP 621 / Poetry / PDM / uv tables, else requirements.txt, at the root.
        declaring = [p for p in ("pyproject.toml", "requirements.txt") if context.has(p)]
        inventory = read_inventory(declaring, context.read)
        if not any(d.ecosystem == PYPI for d in inventory.declared):
            return self.skip("no Python dependencies declared at the root")
        executable = context.executable("deptry")
        if executable is None:
            return self.skip("deptry is not installed (it is a dependency: reinstall)")
        version = tool_version(executable, context.environment)
        table = toml_table(context.read("pyproject.toml") or b"", "tool", "deptry")
        configs = {"pyproject.toml": canonical(table)} if table is not None else {}
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, configs),
            executable=executable,
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        output = context.cache_dir / "deptry.json"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.unlink(missing_ok=True)
        argv = [plan.executable, ".", "--json-output", str(output), "--no-ansi"]
        done = processes.run(argv, cwd=root, env=context.environment)
        if done.exit_code not in (0, 1) or not output.exists():
            return failed(done.exit_code, done.duration_ms, done.stderr_tail() or "deptry failed")
        try:
            findings = parse_deptry_json(output.read_bytes(), root)
        except (ValueError, TypeError, AttributeError) as exc:
            return failed(done.exit_code, done.duration_ms, f"unreadable deptry output: {exc}")
        return ScannerResult(findings, done.exit_code, done.duration_ms)
