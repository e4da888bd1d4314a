"""The mechanical auto-fix: one ruff rule's safe fixes as one auto-PR.

Guards, each refusing the change: a rule whose findings are not all fixable safely (never
unsafe fixes); anything of the rule left after the fix; a patch that differs from what
the same tool made of the same base before; no test command, or tests that fail on the
patched tree (checked by the build, `codehealth.services.patches`).
"""

from __future__ import annotations

import json
import re

from django.contrib.auth.models import User

from codehealth import processes
from codehealth.errors import PatchRefused
from codehealth.models import (
    AutoPR,
    AutoPRKind,
    Finding,
    FindingState,
    FixApplicability,
    Repository,
)
from codehealth.repositories import ChangeWorkspace, CodeHost, open_repository
from codehealth.scanners import Plan
from codehealth.scanners.ruff import RuffScanner
from codehealth.services.patches import create_autopr, register_change_builder
from codehealth.services.scans import scan_context
from engine.services.history import Actor

RULE_CODE = re.compile(r"^[A-Z]{1,8}[0-9]{1,6}$")


def autofix_rule(
    *, repository: Repository, rule: str, actor: Actor, created_by: User | None = None
) -> AutoPR:
    """Propose the safe fixes of one ruff rule; refused unless every open finding of the
    rule has a safe fix and the repository has a test command."""
    if not RULE_CODE.match(rule):
        raise PatchRefused(f"not a ruff rule code: {rule!r}")
    if not repository.test_command:
        raise PatchRefused("the repository has no test command: fixes are not proposed")
    findings = Finding.objects.filter(
        repository=repository,
        tool="ruff",
        rule=rule,
        state__in=[FindingState.OPEN, FindingState.REOPENED, FindingState.ACCEPTED],
    )
    if not findings.exists():
        raise PatchRefused(f"no open finding of {rule}")
    unsafe = findings.exclude(fix_applicability=FixApplicability.SAFE).count()
    if unsafe:
        raise PatchRefused(
            f"{unsafe} finding(s) of {rule} have no safe fix (unsafe fixes are never applied)"
        )
    host = open_repository(repository)
    base = host.resolve(repository.default_branch)
    return create_autopr(
        repository=repository,
        kind=AutoPRKind.RUFF_FIX,
        key=rule,
        title=f"ruff: apply the safe fixes of {rule}",
        description=f"Mechanical change: `ruff check --select {rule} --fix` (safe fixes only).",
        base_commit=base,
        target_branch=repository.default_branch,
        actor=actor,
        created_by=created_by,
    )


def _ruff(plan: Plan, workspace: ChangeWorkspace, env: dict[str, str], *args: str) -> bytes:
    argv = [
        plan.executable,
        "check",
        "--no-cache",
        "--select",
        args[0],
        "--output-format",
        "json",
        *args[1:],
        ".",
    ]
    done = processes.run(argv, cwd=workspace.root, env=env)
    if done.exit_code not in (0, 1):
        raise PatchRefused(f"ruff failed: {done.stderr_tail()}")
    return done.stdout


def _fix(plan: Plan, workspace: ChangeWorkspace, env: dict[str, str], rule: str) -> None:
    before = json.loads(_ruff(plan, workspace, env, rule) or b"[]")
    unsafe = [f for f in before if (f.get("fix") or {}).get("applicability") != "safe"]
    if unsafe:
        where = ", ".join(f"{f['filename']}:{f['location']['row']}" for f in unsafe[:5])
        raise PatchRefused(f"{len(unsafe)} finding(s) of {rule} have no safe fix: {where}")
    _ruff(plan, workspace, env, rule, "--fix", "--no-unsafe-fixes")
    left = json.loads(_ruff(plan, workspace, env, rule) or b"[]")
    if left:
        raise PatchRefused(f"{len(left)} finding(s) of {rule} are left after the fix")


def apply_ruff_fix(autopr: AutoPR, host: CodeHost, workspace: ChangeWorkspace) -> str:
    rule = autopr.key
    context = scan_context(autopr.repository, host, autopr.base_commit)
    plan = RuffScanner().plan(context)
    if plan.skipped:
        raise PatchRefused(f"ruff cannot run: {plan.skip_reason}")
    _fix(plan, workspace, context.environment, rule)
    # The same tool on the same base must make the same patch: made twice, compared.
    with host.change_workspace(autopr.base_commit) as again:
        _fix(plan, again, context.environment, rule)
        if host.workspace_diff(again) != host.workspace_diff(workspace):
            raise PatchRefused(f"ruff's fix of {rule} is not deterministic on this base")
    return f"Made by {plan.version}: ruff check --select {rule} --fix (safe fixes only)."


register_change_builder(AutoPRKind.RUFF_FIX, apply_ruff_fix)
