"""Anchors: what places a code finding, independent of its line number.

An anchor is the enclosing symbol plus the text of the flagged line without whitespace:
lines inserted above it, blank lines, indentation and reformatting around it leave it as
it was. Python symbols come from its own parser; other languages from declaration lines.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from codehealth.normal_form import RawFinding

_WHITESPACE = re.compile(r"\s+")
_DECLARATION = re.compile(
    r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?"
    r"(?:function\*?\s+(?P<function>[\w$]+)"
    r"|class\s+(?P<class>[\w$]+)"
    r"|(?:const|let|var)\s+(?P<binding>[\w$]+)\s*=\s*(?:async\s+)?(?:function|\([^)]*\)\s*=>|[\w$]+\s*=>)"
    r"|(?:(?:public|private|protected|static|readonly|get|set)\s+)*(?P<method>[\w$]+)\s*\([^)]*\)\s*(?::[^{]*)?\{)"
)
_NOT_METHODS = frozenset({"if", "for", "while", "switch", "catch", "function", "return", "with"})


def squeeze(text: str) -> str:
    return _WHITESPACE.sub("", text)


def line_hash(text: str) -> str:
    return hashlib.sha1(squeeze(text).encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class _Scope:
    start: int
    end: int
    name: str


class PythonSymbols:
    """The innermost class or function around each line of a Python module."""

    def __init__(self, source: str) -> None:
        self.scopes: list[_Scope] = []
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return
        self._collect(tree, "")
        self.scopes.sort(key=lambda s: (s.start, -s.end))

    def _collect(self, node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                self.scopes.append(_Scope(first, child.end_lineno or child.lineno, name))
                self._collect(child, f"{name}.")
            else:
                self._collect(child, prefix)

    def at(self, line: int) -> str:
        starts = [s.start for s in self.scopes]
        best = ""
        for scope in self.scopes[: bisect.bisect_right(starts, line)]:
            if scope.start <= line <= scope.end:
                best = scope.name  # later starts are nested deeper
        return best


def declaration_symbol(lines: list[str], line: int) -> str:
    """The nearest enclosing declaration above `line` (JavaScript, TypeScript and the like):
    the closest declaration line indented less than the flagged line, or the line itself."""
    if not 1 <= line <= len(lines):
        return ""
    target = lines[line - 1]
    indent = len(target) - len(target.lstrip())
    for number in range(line, 0, -1):
        text = lines[number - 1]
        if not text.strip():
            continue
        depth = len(text) - len(text.lstrip())
        if number != line and depth >= indent:
            continue
        match = _DECLARATION.match(text)
        if match:
            name = next(g for g in match.groupdict().values() if g)
            if name not in _NOT_METHODS:
                return name
        if depth == 0 and number != line:
            return ""
    return ""


class SourceIndex:
    """Reads each file once and answers symbols and line texts for its findings."""

    def __init__(self, read: Callable[[str], str | None]) -> None:
        self._read = read
        self._lines: dict[str, list[str] | None] = {}
        self._python: dict[str, PythonSymbols] = {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self._lines:
            text = self._read(path)
            self._lines[path] = text.splitlines() if text is not None else None
        return self._lines[path]

    def symbol(self, path: str, line: int) -> str:
        lines = self.lines(path)
        if lines is None:
            return ""
        if path.endswith((".py", ".pyi")):
            if path not in self._python:
                self._python[path] = PythonSymbols("\n".join(lines))
            return self._python[path].at(line)
        return declaration_symbol(lines, line)

    def text(self, path: str, line: int) -> str:
        lines = self.lines(path)
        if lines is None or not 1 <= line <= len(lines):
            return ""
        return lines[line - 1]


def anchor_findings(findings: list[RawFinding], source: SourceIndex) -> None:
    """Give each code finding its symbol, anchor and line hash (in place)."""
    for finding in findings:
        if finding.anchor:
            finding.line_hash = finding.line_hash or line_hash(finding.anchor)
            continue
        if not finding.path or not finding.line:
            finding.anchor = f"{finding.path}|{squeeze(finding.message)}"
            continue
        text = squeeze(source.text(finding.path, finding.line))
        finding.symbol = finding.symbol or source.symbol(finding.path, finding.line)
        finding.anchor = f"{finding.symbol}|{text}"
        finding.line_hash = line_hash(text)
