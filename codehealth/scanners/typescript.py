"""tsc --noEmit, where the repository has a tsconfig.json and Node is present."""

from __future__ import annotations

import re
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

# src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.
_DIAGNOSTIC = re.compile(
    r"^(?P<path>.+?)\((?P<line>\d+),(?P<column>\d+)\): (?P<level>error|warning) "
    r"(?P<code>TS\d+): (?P<message>.*)$"
)


def parse_tsc(output: bytes, root: Path) -> list[RawFinding]:
    findings: list[RawFinding] = []
    for raw in output.decode(errors="replace").splitlines():
        match = _DIAGNOSTIC.match(raw)
        if match is None:
            if findings and raw.startswith("  "):  # a message continued on the next lines
                findings[-1].message += "\n" + raw.strip()
            continue
        findings.append(
            RawFinding(
                tool="tsc",
                rule=match["code"],
                kind=FindingKind.TYPE,
                severity=FindingSeverity.HIGH
                if match["level"] == "error"
                else FindingSeverity.MEDIUM,
                message=match["message"],
                path=relative(match["path"], root),
                line=int(match["line"]),
                column=int(match["column"]),
            )
        )
    return findings


class TypeScriptScanner(Scanner):
    name = "tsc"
    title = "tsc --noEmit (TypeScript)"

    def plan(self, context: ScanContext) -> Plan:
        if not context.has("tsconfig.json"):
            return self.skip("no tsconfig.json at the repository's root")
        executable, reason = node_tool(context, "tsc")
        if executable is None:
            return self.skip(reason)
        version = tool_version(executable, context.environment)
        configs = {
            path: context.read(path) or b""
            for path in context.named("tsconfig.json", "package.json")
        }
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, configs),
            executable=executable,
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        argv = [plan.executable, "--noEmit", "--pretty", "false", "-p", "."]
        done = processes.run(argv, cwd=root, env=context.environment)
        findings = parse_tsc(done.stdout, root)
        if done.exit_code != 0 and not findings:
            return failed(done.exit_code, done.duration_ms, done.output_tail(2000) or "tsc failed")
        return ScannerResult(findings, done.exit_code, done.duration_ms)
