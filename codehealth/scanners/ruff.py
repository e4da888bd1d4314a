"""ruff: lint findings with each fix and its applicability (safe, unsafe, display only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codehealth import processes
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

CONFIG_NAMES = ("pyproject.toml", "ruff.toml", ".ruff.toml")
# Rules that find code that cannot work, rather than code that reads badly.
HIGH_PREFIXES = ("E9", "F63", "F7", "F82", "PLE", "S")
MEDIUM_PREFIXES = ("F", "B", "PLW", "ASYNC", "DJ", "RUF0", "PERF", "TRY")


def ruff_severity(code: str) -> str:
    if code == "invalid-syntax":
        return FindingSeverity.CRITICAL
    if code.startswith(HIGH_PREFIXES):
        return FindingSeverity.HIGH
    if code.startswith(MEDIUM_PREFIXES):
        return FindingSeverity.MEDIUM
    return FindingSeverity.LOW


def parse_ruff_json(output: bytes, root: Path) -> list[RawFinding]:
    findings = []
    for item in json.loads(output or b"[]"):
        code = item.get("code") or item.get("name") or "invalid-syntax"
        location = item.get("location") or {}
        end = item.get("end_location") or {}
        fix: dict[str, Any] | None = item.get("fix")
        findings.append(
            RawFinding(
                tool="ruff",
                rule=code,
                kind=FindingKind.LINT,
                severity=ruff_severity(code),
                message=item.get("message", ""),
                path=relative(item.get("filename", ""), root),
                line=location.get("row"),
                column=location.get("column"),
                end_line=end.get("row"),
                help_url=item.get("url") or "",
                fix=fix,
            )
        )
    return findings


class RuffScanner(Scanner):
    name = "ruff"
    title = "ruff (lint)"

    def plan(self, context: ScanContext) -> Plan:
        if not context.with_suffix(".py", ".pyi"):
            return self.skip("no Python files")
        executable = context.executable("ruff")
        if executable is None:
            return self.skip("ruff is not installed (it is a dependency: reinstall)")
        version = tool_version(executable, context.environment)
        configs: dict[str, bytes] = {}
        for path in context.named(*CONFIG_NAMES):
            data = context.read(path)
            if data is None:
                continue
            if path.endswith("pyproject.toml"):
                table = toml_table(data, "tool", "ruff")
                if table is None:
                    continue
                data = canonical(table)
            configs[path] = data
        options = {"extend_select": sorted(context.extend_select)}
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, configs, options),
            executable=executable,
            options=options,
        )

    def argv(self, plan: Plan, *, select: str = "") -> list[str]:
        argv = [plan.executable, "check", "--no-cache", "--no-fix", "--output-format", "json"]
        if select:
            argv += ["--select", select]
        elif plan.options.get("extend_select"):
            argv += ["--extend-select", ",".join(plan.options["extend_select"])]
        return [*argv, "."]

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        done = processes.run(self.argv(plan), cwd=root, env=context.environment)
        if done.exit_code not in (0, 1):
            return failed(done.exit_code, done.duration_ms, done.stderr_tail() or "ruff failed")
        try:
            findings = parse_ruff_json(done.stdout, root)
        except (ValueError, TypeError, AttributeError) as exc:
            return failed(done.exit_code, done.duration_ms, f"unreadable ruff output: {exc}")
        return ScannerResult(findings, done.exit_code, done.duration_ms)
