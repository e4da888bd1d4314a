"""mypy, where the repository configures it: type errors as findings.

mypy is not a run-time dependency: a repository's mypy needs that repository's plugins
and stubs (django-stubs, ...), which only its own environment has. It is found beside
this server's interpreter or on the search path, else the scan says it was skipped.
"""

from __future__ import annotations

import json
import re
import shutil
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
from codehealth.scanners.config_files import canonical, ini_sections, toml_table

MIN_VERSION = (1, 11)  # the first with JSON output (-O json)
_VERSION = re.compile(r"mypy (\d+)\.(\d+)")


def mypy_configuration(context: ScanContext) -> tuple[dict[str, bytes], bool]:
    """The root configuration (as mypy reads it: the first of these that configures it)
    and whether it names the files to check."""
    for name in ("mypy.ini", ".mypy.ini"):
        data = context.read(name) if context.has(name) else None
        if data is not None:
            sections = ini_sections(data, "mypy") or {}
            return {name: data}, "files" in sections.get("mypy", {})
    if context.has("pyproject.toml"):
        table = toml_table(context.read("pyproject.toml") or b"", "tool", "mypy")
        if table is not None:
            return {"pyproject.toml": canonical(table)}, "files" in table
    if context.has("setup.cfg"):
        in_setup = ini_sections(context.read("setup.cfg") or b"", "mypy")
        if in_setup:
            return {"setup.cfg": canonical(in_setup)}, "files" in in_setup.get("mypy", {})
    return {}, False


def parse_mypy_json(output: bytes, root: Path) -> list[RawFinding]:
    findings = []
    for raw in output.decode(errors="replace").splitlines():
        if not raw.startswith("{"):
            continue
        item = json.loads(raw)
        if item.get("severity") != "error":
            continue  # notes explain the error before them
        message = item.get("message", "")
        if item.get("hint"):
            message = f"{message} ({item['hint']})"
        column = item.get("column")
        findings.append(
            RawFinding(
                tool="mypy",
                rule=item.get("code") or "misc",
                kind=FindingKind.TYPE,
                severity=FindingSeverity.HIGH,
                message=message,
                path=relative(item.get("file", ""), root),
                line=item.get("line") if (item.get("line") or 0) > 0 else None,
                column=column + 1 if isinstance(column, int) and column >= 0 else None,
                end_line=item.get("end_line"),
            )
        )
    return findings


class MypyScanner(Scanner):
    name = "mypy"
    title = "mypy (types)"

    def plan(self, context: ScanContext) -> Plan:
        configs, names_files = mypy_configuration(context)
        if not configs:
            return self.skip("the repository does not configure mypy")
        executable = context.executable("mypy")
        if executable is None:
            return self.skip("mypy is not installed beside the server or on its PATH")
        version = tool_version(executable, context.environment)
        found = _VERSION.search(version)
        if found is None or (int(found[1]), int(found[2])) < MIN_VERSION:
            return self.skip(f"{version}: JSON output needs mypy 1.11 or newer")
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, configs),
            executable=executable,
            options={"targets": [] if names_files else ["."]},
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        cache = context.cache_dir / "mypy"
        borrowed = context.work_tree / ".mypy_cache" if context.work_tree else None
        if not cache.exists() and borrowed is not None and borrowed.is_dir():
            # A first scan starts from the checkout's own cache: mypy checks each entry
            # against the file's hash, so a stale one costs only its recheck.
            shutil.copytree(borrowed, cache, ignore_dangling_symlinks=True)
        cache.mkdir(parents=True, exist_ok=True)
        argv = [
            plan.executable,
            "-O",
            "json",
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            *plan.options.get("targets", []),
        ]
        done = processes.run(argv, cwd=root, env=context.environment)
        if done.exit_code not in (0, 1):
            error = done.stderr_tail() or done.output_tail(2000) or "mypy failed"
            return failed(done.exit_code, done.duration_ms, error)
        try:
            findings = parse_mypy_json(done.stdout, root)
        except (ValueError, TypeError) as exc:
            return failed(done.exit_code, done.duration_ms, f"unreadable mypy output: {exc}")
        if done.exit_code == 1 and not findings:
            return failed(1, done.duration_ms, done.output_tail(2000) or "mypy failed")
        return ScannerResult(findings, done.exit_code, done.duration_ms)
