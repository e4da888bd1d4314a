"""Contract drift: what the repository's JavaScript calls against what its Django backend
serves. Each call (``fetch(...)`` and any call whose first argument is a URL path: the
project's own helpers) is read with its method; the project is loaded in a checkout by a
probe (`contract_probe`) that asks Django's own URL resolver where the path lands, which
methods the view answers, and whether drf-spectacular's schema documents the operation.

A path that resolves to nothing, or a method the view does not answer, is an error; a path
that reaches an API view (DRF) but is missing from the schema is "undocumented". Pages'
routes (plain Django views) are not expected in the schema. The anchor is
``method + path template``, so a call keeps its identity when the JavaScript moves.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
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
)

PROBE = Path(__file__).with_name("contract_probe.py")
# Bumped when what counts as a call changes: a rule-set change.
CALL_RULES = 1
SCRIPT_SUFFIXES = (".js", ".mjs", ".ts", ".jsx", ".tsx")
NOT_OURS = ("node_modules/", "vendor/", "dist/", "build/")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_SETTINGS = (
    re.compile(r"""DJANGO_SETTINGS_MODULE["']?\s*[,:=]\s*["']([\w.]+)["']"""),
    re.compile(r"""django_settings_module\s*=\s*["']([\w.]+)["']"""),
)
_SETTINGS_SOURCES = ("manage.py", "pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini")
# A call whose first argument starts with a string or template literal holding a path.
_CALL = re.compile(
    r"""(?P<callee>[\w$.]+)\s*\(\s*(?P<quote>["'`])(?P<first>/[^"'`\s]*)(?P=quote)"""
    r"""(?P<rest>(?:\s*\+\s*(?:[\w$.\[\]()]+|["'][^"']*["']))*)"""
)
_METHOD_OPTION = re.compile(r"""method\s*:\s*["'](\w+)["']""", re.IGNORECASE)
# A helper's last argument naming the method: api("/api/x/", body, "DELETE").
_METHOD_ARGUMENT = re.compile(
    r""",\s*["'](GET|POST|PUT|PATCH|DELETE)["']\s*(?:\)|$)""", re.IGNORECASE
)
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")
_METHOD_CALLEES = {m.lower(): m for m in METHODS}
# Calls that take a string but make no request (string, array and DOM methods).
_NOT_REQUESTS = frozenset(
    {
        "replace",
        "replaceAll",
        "split",
        "startsWith",
        "endsWith",
        "includes",
        "indexOf",
        "lastIndexOf",
        "match",
        "test",
        "concat",
        "join",
        "querySelector",
        "querySelectorAll",
        "setAttribute",
        "getAttribute",
        "log",
        "warn",
        "error",
        "WebSocket",
        "EventSource",
    }
)
HELP_URL = (
    "https://docs.djangoproject.com/en/stable/topics/http/urls/#how-django-processes-a-request"
)


@dataclass(frozen=True)
class Call:
    method: str
    template: str  # the path with `{}` where the code puts a value
    path: str  # the file that makes it
    line: int


def settings_module(context: ScanContext) -> str:
    """The Django settings module the repository names (manage.py, pytest or mypy's
    configuration), when that module is in the tree; "" otherwise."""
    candidates = [p for p in context.files if p.rsplit("/", 1)[-1] in _SETTINGS_SOURCES]
    for path in sorted(candidates, key=lambda p: (p.count("/"), p)):
        text = context.text(path) or ""
        for pattern in _SETTINGS:
            found = pattern.search(text)
            if found is None:
                continue
            module = found[1]
            as_path = module.replace(".", "/")
            if context.has(f"{as_path}.py") or context.has(f"{as_path}/__init__.py"):
                return module
    return ""


def _template(first: str, rest: str) -> str:
    """A path template from a literal (with `${...}`) and what is concatenated to it."""
    template = _INTERPOLATION.sub("{}", first)
    for piece in re.findall(r"""\+\s*(["'][^"']*["']|[^+\s]+)""", rest):
        template += piece[1:-1] if piece[0] in "\"'" else "{}"
    template = template.split("?", 1)[0].split("#", 1)[0]
    return re.sub(r"(\{\})+", "{}", template)


def find_calls(path: str, text: str) -> list[Call]:
    calls = []
    for match in _CALL.finditer(text):
        callee = match["callee"].rsplit(".", 1)[-1]
        if callee in _NOT_REQUESTS:
            continue
        window = text[match.end() : match.end() + 400].split(");", 1)[0]
        if callee.lower() in _METHOD_CALLEES:
            method = _METHOD_CALLEES[callee.lower()]
        elif found := _METHOD_OPTION.search(window) or _METHOD_ARGUMENT.search(window):
            method = found[1].upper()
        else:
            method = "GET"
        line = text.count("\n", 0, match.start()) + 1
        calls.append(Call(method, _template(match["first"], match["rest"] or ""), path, line))
    return calls


def _anchor(call: Call) -> str:
    return f"{call.method} {call.template}"


class ContractScanner(Scanner):
    name = "contract"
    title = "contract drift (JavaScript calls vs Django's URLs and the OpenAPI schema)"

    def _scripts(self, context: ScanContext) -> list[str]:
        return [
            p
            for p in context.files
            if p.endswith(SCRIPT_SUFFIXES)
            and not p.endswith(".min.js")
            and not any(part in f"/{p}" for part in (f"/{n}" for n in NOT_OURS))
        ]

    def plan(self, context: ScanContext) -> Plan:
        scripts = self._scripts(context)
        if not scripts:
            return self.skip("no JavaScript of its own")
        module = settings_module(context)
        if not module:
            return self.skip("not a Django project (no settings module named in the tree)")
        options = {"settings": module, "call_rules": CALL_RULES}
        version = f"probe {CALL_RULES} (python {sys.version_info[0]}.{sys.version_info[1]})"
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, {}, options),
            executable=sys.executable,
            options=options,
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        calls: list[Call] = []
        for path in self._scripts(context):
            try:
                calls += find_calls(path, (root / path).read_text(errors="replace"))
            except OSError:
                continue
        if not calls:
            return ScannerResult([], 0, 0)
        request = {
            "settings": plan.options["settings"],
            "schema": True,
            "calls": [{"method": c.method, "path": c.template} for c in calls],
        }
        done = processes.run(
            [plan.executable, str(PROBE)],
            cwd=root,
            env=context.environment,
            stdin=json.dumps(request).encode(),
        )
        if done.exit_code != 0:
            error = done.stderr_tail() or "the probe failed"
            return failed(done.exit_code, done.duration_ms, f"could not load the project: {error}")
        try:
            answers = json.loads(done.stdout)["calls"]
        except (ValueError, KeyError, TypeError) as exc:
            return failed(done.exit_code, done.duration_ms, f"unreadable probe output: {exc}")
        findings = [f for c, a in zip(calls, answers, strict=True) if (f := self._judge(c, a))]
        return ScannerResult(findings, done.exit_code, done.duration_ms)

    def _judge(self, call: Call, answer: dict[str, Any]) -> RawFinding | None:
        def finding(rule: str, severity: str, message: str, evidence: list[str]) -> RawFinding:
            return RawFinding(
                tool=self.name,
                rule=rule,
                kind=FindingKind.CONTRACT,
                severity=severity,
                message=message,
                path=call.path,
                line=call.line,
                anchor=_anchor(call),
                help_url=HELP_URL,
                evidence=[f"{call.path}:{call.line} calls {_anchor(call)}", *evidence],
            )

        if not answer.get("resolved"):
            return finding(
                "unresolved-path",
                FindingSeverity.HIGH,
                f"{call.method} {call.template}: the path resolves to no URL pattern",
                ["Django's URL resolver found no pattern for it"],
            )
        seen = [f"it resolves to {answer.get('view') or '?'} ({answer.get('route') or ''})"]
        allowed = answer.get("allowed")
        if allowed is not None and call.method not in allowed:
            return finding(
                "method-not-allowed",
                FindingSeverity.HIGH,
                f"{call.method} {call.template}: the view answers only {', '.join(allowed)}",
                [*seen, f"the view answers {', '.join(allowed) or 'nothing'}"],
            )
        if answer.get("api") and answer.get("documented") is False:
            return finding(
                "undocumented",
                FindingSeverity.MEDIUM,
                f"{call.method} {call.template}: an API operation missing from the schema",
                [*seen, "drf-spectacular's schema has no such operation"],
            )
        return None
