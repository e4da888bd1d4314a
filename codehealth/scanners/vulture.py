"""vulture: unused Python (functions, classes, methods, attributes, unreachable code),
Django-aware, each item with its evidence and a confidence.

vulture decides from Python names alone, so it is fed a whitelist of the project's wiring
(`django_wiring`) and its findings in tests and migrations are dropped (they are run by
their frameworks; they still count as uses). A second kind of evidence is a search of the
whole tree's text (Python strings, templates, JavaScript, configuration) for the name:
"high" confidence only when vulture and that search agree that nothing mentions it. The
line's last change (the code host's blame) is part of the evidence. Unused imports and
unused local variables are ruff's (F401, F841), not repeated here.
"""

from __future__ import annotations

import ast
import re
import tempfile
from datetime import UTC, datetime
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
from codehealth.scanners.django_wiring import (
    REGISTERING_DECORATORS,
    TEMPLATE_SUFFIXES,
    collect_wiring,
    framework_hooks,
    whitelist_module,
)

# Bumped when what counts as wiring changes: a rule-set change, not a burst of findings.
WIRING_RULES = 1
MIN_CONFIDENCE = 60
# Folders never read (by path segment: vulture's own --exclude globs the absolute path,
# which would also match the folder the checkout is extracted into).
NOT_OURS = frozenset({".venv", "venv", ".tox", "node_modules", ".git", "site-packages"})
HELP_URL = "https://github.com/jendrikseipp/vulture#handling-false-positives"
# Where a name may be mentioned without Python loading it.
TEXT_SUFFIXES = (".py", ".js", ".mjs", ".ts", ".json", ".toml", ".cfg", ".ini", ".yml", ".yaml")
_LINE = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+): (?P<what>unused \w+|unreachable code after '\w+'|"
    r"unsatisfiable \w+ condition|redundant if-condition)(?: '(?P<name>[^']+)')? "
    r"\((?P<confidence>\d+)% confidence"
)
_WORD = re.compile(r"[A-Za-z_]\w*")
_NAMED_IN_MESSAGE = re.compile(r"'(\w+)'")


def is_test_or_migration(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        "tests" in parts[:-1]
        or "migrations" in parts[:-1]
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def is_settings_module(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] == "settings.py" or "settings" in parts[:-1]


def stale_name(message: str) -> str:
    """The name a stale-code finding is about (what a false positive whitelists)."""
    found = _NAMED_IN_MESSAGE.search(message)
    return found[1] if found else ""


def parse_vulture(output: bytes, root: Path) -> list[dict[str, Any]]:
    items = []
    for raw in output.decode(errors="replace").splitlines():
        match = _LINE.match(raw)
        if match is None:
            continue
        what = match["what"]
        rule = "unreachable-code" if what.startswith("unreachable") else what.replace(" ", "-")
        items.append(
            {
                "path": relative(match["path"], root),
                "line": int(match["line"]),
                "rule": rule,
                "name": match["name"] or "",
                "vulture_confidence": int(match["confidence"]),
                "message": raw.split(": ", 1)[1],
            }
        )
    return items


def _parameters_and_locals(source: str) -> set[tuple[int, str]]:
    """(line, name) of every function parameter and every name a function body binds."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arguments):
            for arg in [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]:
                if arg is not None:
                    found.add((arg.lineno, arg.arg))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            body = node.body if isinstance(node.body, list) else [node.body]
            for statement in body:
                for inner in ast.walk(statement):
                    if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                        found.add((inner.lineno, inner.id))
    return found


def definition_spans(source: str) -> dict[int, int]:
    """First line (its first decorator's, as vulture reports it) → last line of each
    function and class: a name mentioned only inside its own definition is still unused."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    spans = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            spans[first] = node.end_lineno or node.lineno
            spans.setdefault(node.lineno, node.end_lineno or node.lineno)
    return spans


def names_in(root: Path, files: list[str]) -> set[str]:
    """Every identifier the files mention."""
    found: set[str] = set()
    for path in files:
        try:
            found.update(_WORD.findall((root / path).read_text(errors="replace")))
        except OSError:
            continue
    return found


def mentions(root: Path, files: list[str], names: set[str]) -> dict[str, list[str]]:
    """Where each of `names` occurs as a word in the tree's text: "path:line" each."""
    found: dict[str, list[str]] = {name: [] for name in names}
    for path in files:
        try:
            text = (root / path).read_text(errors="replace")
        except OSError:
            continue
        if not names.intersection(_WORD.findall(text)):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for word in set(_WORD.findall(line)) & names:
                found[word].append(f"{path}:{number}")
    return found


def _age(committed_at: datetime | None, now: datetime) -> str:
    if committed_at is None:
        return ""
    days = (now - committed_at).days
    return f"last changed {days} day{'s' if days != 1 else ''} ago"


class VultureScanner(Scanner):
    name = "vulture"
    title = "vulture (stale code)"

    def plan(self, context: ScanContext) -> Plan:
        if not context.with_suffix(".py"):
            return self.skip("no Python files")
        executable = context.executable("vulture")
        if executable is None:
            return self.skip("vulture is not installed (it is a dependency: reinstall)")
        version = tool_version(executable, context.environment)
        configs: dict[str, bytes] = {}
        table: dict[str, Any] = {}
        if context.has("pyproject.toml"):
            found = toml_table(context.read("pyproject.toml") or b"", "tool", "vulture")
            if isinstance(found, dict):
                table = found
                configs["pyproject.toml"] = canonical(found)
        options = {
            "wiring_rules": WIRING_RULES,
            "min_confidence": int(table.get("min_confidence", MIN_CONFIDENCE)),
            "exclude": sorted(table.get("exclude", [])),
            "ignore_names": sorted({*table.get("ignore_names", []), *context.stale_whitelist}),
            "ignore_decorators": sorted(
                {*REGISTERING_DECORATORS, *table.get("ignore_decorators", [])}
            ),
        }
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, configs, options),
            executable=executable,
            options=options,
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        files = [p for p in context.files if not NOT_OURS.intersection(p.split("/")[:-1])]
        sources = [p for p in files if p.endswith((".py", *TEMPLATE_SUFFIXES))]
        analysed = [p for p in sources if p.endswith(".py") and not is_test_or_migration(p)]
        wiring = collect_wiring(root, [p for p in sources if not is_test_or_migration(p)])
        # Tests and migrations are never reported, so vulture need not parse them (nearly
        # half of a well-tested tree): every name they mention counts as used instead.
        wiring |= names_in(root, [p for p in sources if is_test_or_migration(p)])
        with tempfile.TemporaryDirectory(prefix="vulture-") as scratch:
            whitelist = Path(scratch) / "django_wiring_whitelist.py"
            whitelist.write_text(whitelist_module(wiring | framework_hooks()))
            argv = [
                plan.executable,
                *analysed,
                str(whitelist),
                "--min-confidence",
                str(plan.options["min_confidence"]),
                "--ignore-decorators",
                ",".join(plan.options["ignore_decorators"]),
            ]
            if plan.options["exclude"]:
                argv += ["--exclude", ",".join(plan.options["exclude"])]
            if plan.options["ignore_names"]:
                argv += ["--ignore-names", ",".join(plan.options["ignore_names"])]
            done = processes.run(argv, cwd=root, env=context.environment)
        # 0: nothing unused; 3: something unused (vulture's documented exit codes).
        if done.exit_code not in (0, 3):
            return failed(done.exit_code, done.duration_ms, done.stderr_tail() or "vulture failed")
        parsed: dict[str, str] = {}
        items = [i for i in parse_vulture(done.stdout, root) if self._reportable(i, root, parsed)]
        findings = self._with_evidence(items, root, files, context)
        return ScannerResult(findings, done.exit_code, done.duration_ms)

    def _reportable(self, item: dict[str, Any], root: Path, sources: dict[str, str]) -> bool:
        path = item["path"]
        if is_test_or_migration(path) or item["rule"] == "unused-import":
            return False
        if item["rule"] == "unused-variable":
            if path not in sources:
                sources[path] = (root / path).read_text(errors="replace")
            source = sources[path]
            if (item["line"], item["name"]) in _parameters_and_locals(source):
                return False  # a hook's signature is its framework's; locals are ruff's F841
            if is_settings_module(path) and item["name"].isupper():
                return False  # settings are read by name (django.conf), by Django and libraries
        return True

    def _with_evidence(
        self, items: list[dict[str, Any]], root: Path, files: list[str], context: ScanContext
    ) -> list[RawFinding]:
        names = {i["name"] for i in items if i["name"]}
        text_files = [p for p in files if p.endswith((*TEXT_SUFFIXES, *TEMPLATE_SUFFIXES))]
        where = mentions(root, text_files, names)
        spans: dict[str, dict[int, int]] = {}
        for item in items:
            if item["path"] not in spans:
                source = (root / item["path"]).read_text(errors="replace")
                spans[item["path"]] = definition_spans(source)
            own = range(item["line"], spans[item["path"]].get(item["line"], item["line"]) + 1)
            item["others"] = [
                w for w in where.get(item["name"], []) if not _within(w, item["path"], own)
            ]
            if not item["name"]:
                item["confidence"] = "medium"
            elif item["others"]:
                item["confidence"] = "low"
            else:
                # An attribute set on another library's object may be read by that
                # library by name, which no search of this tree can see.
                item["confidence"] = "medium" if item["rule"] == "unused-attribute" else "high"
        ages = self._ages(items, context)
        now = datetime.now(tz=UTC)
        findings = []
        for item in items:
            confidence, others = item["confidence"], item["others"]
            evidence = [f"vulture: {item['message']}"]
            if item["name"]:
                if others:
                    shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
                    evidence.append(
                        f"the name occurs {len(others)} more time(s) in the tree's text "
                        f"(it may be reached by name): {shown}"
                    )
                else:
                    evidence.append(
                        "the name occurs nowhere else in the tree: no Python, template, "
                        "JavaScript or configuration mentions it"
                    )
            age = _age(ages.get((item["path"], item["line"])), now)
            if age:
                evidence.append(age)
            findings.append(
                RawFinding(
                    tool=self.name,
                    rule=item["rule"],
                    kind=FindingKind.STALE,
                    severity=FindingSeverity.INFO if confidence == "low" else FindingSeverity.LOW,
                    message=item["message"],
                    path=item["path"],
                    line=item["line"],
                    help_url=HELP_URL,
                    evidence=evidence,
                    confidence=confidence,
                )
            )
        return findings

    def _ages(
        self, items: list[dict[str, Any]], context: ScanContext
    ) -> dict[tuple[str, int], datetime]:
        if context.blame is None:
            return {}
        lines: dict[str, list[int]] = {}
        for item in items:
            if item["confidence"] == "low":
                continue  # the age matters for what may be deleted, and blame costs a run
            lines.setdefault(item["path"], []).append(item["line"])
        ages: dict[tuple[str, int], datetime] = {}
        for path, wanted in lines.items():
            for number, blamed in context.blame(path, wanted).items():
                if blamed.committed_at is not None:
                    ages[(path, number)] = blamed.committed_at
        return ages


def _within(where: str, path: str, lines: range) -> bool:
    at_path, _, line = where.rpartition(":")
    return at_path == path and int(line) in lines


__all__ = ["VultureScanner", "is_test_or_migration", "stale_name"]
