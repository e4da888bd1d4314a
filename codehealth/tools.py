"""Chat tools over code health: findings, a file or lines at a commit, a code search, and
proposing a patch (dangerous: a person approves the call, and later the merge).

Registered into chat's tool registry in `CodehealthConfig.ready()`, for the code and ops
modes (a mode's policy must allow a tool's permission level for it to be offered).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from chat.tools import Tool, ToolContext, ToolError, register_tool
from codehealth.errors import CodehealthError
from codehealth.models import (
    SEVERITY_ORDER,
    Finding,
    FindingKind,
    FindingState,
    Repository,
)
from codehealth.services import (
    CURRENT,
    get_repository,
    list_findings,
    propose_patch,
    read_file,
    search_code,
)
from engine.services import EngineError
from routing.models import Mode, ToolPermission

CODE_MODES = (Mode.CODE, Mode.OPS)
FINDINGS_LIMIT = 50
MESSAGE_CHARS = 500


def _actor(context: ToolContext) -> str:
    return f"chat:session-{context.session_id}"


def _repository(arguments: dict[str, Any]) -> Repository:
    name = str(arguments.get("repository") or "")
    if name:
        return get_repository(name)
    enabled = list(Repository.objects.enabled()[:2])
    if len(enabled) == 1:
        return enabled[0]
    names = ", ".join(Repository.objects.values_list("name", flat=True)[:20]) or "none"
    raise ToolError(f"name the repository; registered: {names}")


def _finding_row(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.pk,
        "tool": finding.tool,
        "rule": finding.rule,
        "kind": finding.kind,
        "severity": finding.severity,
        "state": finding.state,
        "new_code": finding.is_new,
        "path": finding.path,
        "line": finding.line,
        "symbol": finding.symbol,
        "message": finding.message[:MESSAGE_CHARS],
        "fix": finding.fix_applicability or None,
        "confidence": finding.confidence or None,
        "evidence": finding.evidence,
        "task": finding.task_id,
    }


def _call(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except (CodehealthError, EngineError) as exc:
        raise ToolError(str(exc)) from exc


def code_findings(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        repository = _repository(arguments)
        findings = list_findings(
            repository=repository,
            state=str(arguments.get("state") or CURRENT),
            severity=str(arguments.get("severity") or ""),
            kind=str(arguments.get("kind") or ""),
            rule=str(arguments.get("rule") or ""),
            path=str(arguments.get("path") or ""),
            new_only=bool(arguments.get("new_only")),
        )
        limit = min(int(arguments.get("limit") or 20), FINDINGS_LIMIT)
        rows = [_finding_row(f) for f in findings.order_by("path", "line", "id")[: limit + 1]]
        return {
            "repository": repository.name,
            "findings": rows[:limit],
            "more": len(rows) > limit,
        }

    return _call(run)


def code_read_file(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        excerpt = read_file(
            repository=_repository(arguments),
            path=str(arguments["path"]),
            commit=str(arguments.get("commit") or ""),
            start_line=arguments.get("start_line"),
            end_line=arguments.get("end_line"),
            max_lines=400,
        )
        return {
            "repository": excerpt.repository,
            "commit": excerpt.commit,
            "path": excerpt.path,
            "start_line": excerpt.start_line,
            "end_line": excerpt.end_line,
            "total_lines": excerpt.total_lines,
            "truncated": excerpt.truncated,
            "text": excerpt.text,
        }

    return _call(run)


def code_search(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        found = search_code(
            repository=_repository(arguments),
            pattern=str(arguments["pattern"]),
            commit=str(arguments.get("commit") or ""),
            fixed=bool(arguments.get("fixed")),
            ignore_case=bool(arguments.get("ignore_case")),
            paths=tuple(str(p) for p in arguments.get("paths") or ()),
            limit=min(int(arguments.get("limit") or 50), 200),
        )
        return {
            "repository": found.repository,
            "commit": found.commit,
            "hits": [{"path": h.path, "line": h.line, "text": h.text[:300]} for h in found.hits],
            "truncated": found.truncated,
            **({"note": found.note} if found.note else {}),
        }

    return _call(run)


def code_propose_patch(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        owner = User.objects.filter(pk=context.owner_id).first() if context.owner_id else None
        autopr = propose_patch(
            repository=_repository(arguments),
            diff=str(arguments["diff"]),
            title=str(arguments["title"]),
            name=str(arguments.get("name") or ""),
            description=str(arguments.get("description") or ""),
            base=str(arguments.get("base") or ""),
            actor=_actor(context),
            created_by=owner,
        )
        return {
            "autopr": autopr.pk,
            "state": autopr.state,
            "task": autopr.task_id,
            "base_commit": autopr.base_commit,
            "note": "A worker builds the branch juggernaut/fix/<name> (and runs the "
            "repository's tests); then it waits for a person to merge or reject it.",
        }

    return _call(run)


REPOSITORY = {"type": "string", "description": "Its name; optional when only one exists."}
COMMIT = {"type": "string", "description": "A commit, branch or tag; default: the default branch."}

TOOLS = (
    Tool(
        name="code_findings",
        description="Code-health findings of a repository (lint, types, stale code, contract "
        "drift, dependencies): rule, severity, state, file and line, whether on new code.",
        parameters={
            "type": "object",
            "properties": {
                "repository": REPOSITORY,
                "state": {"type": "string", "enum": [CURRENT, *FindingState.values]},
                "severity": {"type": "string", "enum": SEVERITY_ORDER},
                "kind": {"type": "string", "enum": FindingKind.values},
                "rule": {"type": "string", "maxLength": 200},
                "path": {"type": "string", "description": "A path prefix.", "maxLength": 500},
                "new_only": {"type": "boolean"},
                "limit": {"type": "integer", "minimum": 1, "maximum": FINDINGS_LIMIT},
            },
            "additionalProperties": False,
        },
        function=code_findings,
        modes=CODE_MODES,
    ),
    Tool(
        name="code_read_file",
        description="Read a file of a repository at a commit, or a range of its lines.",
        parameters={
            "type": "object",
            "properties": {
                "repository": REPOSITORY,
                "path": {"type": "string", "minLength": 1, "maxLength": 1000},
                "commit": COMMIT,
                "start_line": {"type": "integer", "minimum": 1},
                "end_line": {"type": "integer", "minimum": 1},
            },
            "required": ["path"],
            "additionalProperties": False,
        },
        function=code_read_file,
        modes=CODE_MODES,
    ),
    Tool(
        name="code_search",
        description="Search a repository's code at a commit (git grep): an extended regular "
        "expression, or a fixed string; optionally only under some paths. On a GitHub "
        "repository the files are fetched and searched within bounds (see `note`): narrow "
        "big searches with paths.",
        parameters={
            "type": "object",
            "properties": {
                "repository": REPOSITORY,
                "pattern": {"type": "string", "minLength": 1, "maxLength": 500},
                "commit": COMMIT,
                "fixed": {"type": "boolean"},
                "ignore_case": {"type": "boolean"},
                "paths": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
                "limit": {"type": "integer", "minimum": 1, "maximum": 200},
            },
            "required": ["pattern"],
            "additionalProperties": False,
        },
        function=code_search,
        modes=CODE_MODES,
    ),
    Tool(
        name="code_propose_patch",
        description="Propose a change as a unified diff (a/ b/ prefixes) against a "
        "repository: it becomes a branch juggernaut/fix/<name> with one commit, built apart "
        "from any checkout, tested, and left for a person to merge or reject.",
        parameters={
            "type": "object",
            "properties": {
                "repository": REPOSITORY,
                "diff": {"type": "string", "minLength": 1, "maxLength": 200000},
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "name": {"type": "string", "maxLength": 80, "description": "Branch suffix."},
                "description": {"type": "string", "maxLength": 5000},
                "base": COMMIT,
            },
            "required": ["diff", "title"],
            "additionalProperties": False,
        },
        function=code_propose_patch,
        permission=ToolPermission.DANGEROUS,
        modes=CODE_MODES,
        timeout_seconds=60,
    ),
)


def register() -> None:
    for tool in TOOLS:
        register_tool(tool)
