"""eslint -f json, where the repository has an eslint configuration and Node is present."""

from __future__ import annotations

import json
from pathlib import Path

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
from codehealth.scanners.node import node_tool

FLAT_CONFIGS = tuple(f"eslint.config.{ext}" for ext in ("js", "mjs", "cjs", "ts", "mts", "cts"))
LEGACY_CONFIGS = tuple(f".eslintrc{ext}" for ext in ("", ".js", ".cjs", ".json", ".yaml", ".yml"))


def eslint_configs(context: ScanContext) -> dict[str, bytes]:
    configs = {
        path: context.read(path) or b""
        for path in (*FLAT_CONFIGS, *LEGACY_CONFIGS)
        if context.has(path)
    }
    if context.has("package.json"):
        try:
            package = json.loads(context.read("package.json") or b"{}")
        except ValueError:
            package = {}
        if isinstance(package, dict) and "eslintConfig" in package:
            configs["package.json#eslintConfig"] = json.dumps(
                package["eslintConfig"], sort_keys=True
            ).encode()
    return configs


def parse_eslint_json(output: bytes, root: Path) -> list[RawFinding]:
    findings = []
    for result in json.loads(output or b"[]"):
        path = relative(result.get("filePath", ""), root)
        for message in result.get("messages", []):
            fatal = bool(message.get("fatal"))
            rule = message.get("ruleId") or ("parse-error" if fatal else "eslint")
            if fatal:
                severity = FindingSeverity.HIGH
            else:
                severity = (
                    FindingSeverity.MEDIUM if message.get("severity") == 2 else FindingSeverity.LOW
                )
            fix = message.get("fix")
            findings.append(
                RawFinding(
                    tool="eslint",
                    rule=rule,
                    kind=FindingKind.LINT,
                    severity=severity,
                    message=message.get("message", ""),
                    path=path,
                    line=message.get("line"),
                    column=message.get("column"),
                    end_line=message.get("endLine"),
                    # eslint marks no fix unsafe; its fixes are applied by `--fix` as given.
                    fix={"applicability": "safe", "edits": [fix]} if fix else None,
                )
            )
    return findings


class EslintScanner(Scanner):
    name = "eslint"
    title = "eslint (JavaScript lint)"

    def plan(self, context: ScanContext) -> Plan:
        configs = eslint_configs(context)
        if not configs:
            return self.skip("no eslint configuration at the repository's root")
        executable, reason = node_tool(context, "eslint")
        if executable is None:
            return self.skip(reason)
        version = tool_version(executable, context.environment)
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, configs),
            executable=executable,
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        done = processes.run(
            [plan.executable, "-f", "json", "."], cwd=root, env=context.environment
        )
        if done.exit_code not in (0, 1):
            return failed(
                done.exit_code, done.duration_ms, done.output_tail(2000) or "eslint failed"
            )
        try:
            findings = parse_eslint_json(done.stdout, root)
        except (ValueError, TypeError, AttributeError) as exc:
            return failed(done.exit_code, done.duration_ms, f"unreadable eslint output: {exc}")
        return ScannerResult(findings, done.exit_code, done.duration_ms)
