"""Auto-heal: diagnose, then run what the rules allow.

A rule fires when its check reports at least its severity, unless it is cooling down or has
used its runs for the hour: a fault that repair cannot fix then costs at most that many runs
an hour, instead of a loop. Both limits are read from the executions the rule started, so
they hold across processes and restarts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.utils import timezone

from engine.services import job_lock
from selfheal.errors import AlreadyRunning
from selfheal.models import AutoHealRule, Finding, PlaybookExecution, severity_rank
from selfheal.playbooks import get_playbook
from selfheal.services import run_diagnosis

LOCK_NAME = "selfheal.autoheal"
LOCK_TTL_SECONDS = 900


@dataclass(frozen=True)
class RuleDecision:
    rule: str
    check: str
    severity: str
    ran: bool
    reason: str
    execution: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "check": self.check,
            "severity": self.severity,
            "ran": self.ran,
            "reason": self.reason,
            "execution": self.execution,
        }


@dataclass
class AutoHealReport:
    diagnosis: PlaybookExecution
    decisions: list[RuleDecision] = field(default_factory=list)

    @property
    def executions(self) -> list[int]:
        return [d.execution for d in self.decisions if d.ran and d.execution is not None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "diagnosis": self.diagnosis.pk,
            "worst_severity": self.diagnosis.worst_severity,
            "decisions": [decision.as_dict() for decision in self.decisions],
            "executions": self.executions,
        }


def why_rule_waits(rule: AutoHealRule, *, now: datetime) -> str | None:
    """The reason this rule may not run now, or None. The rule comes from
    `AutoHealRule.objects.with_recent_runs(...)`, which read its runs with it."""
    recent = cast(Any, rule)  # the annotations are not on the model's type
    last: datetime | None = recent.last_run_at
    cooldown = timedelta(minutes=rule.cooldown_minutes)
    if last is not None and now - last < cooldown:
        left = math.ceil((last + cooldown - now).total_seconds() / 60)
        return f"cooling down: {left} min left of {rule.cooldown_minutes}"
    runs: int = recent.runs_last_hour
    if runs >= rule.max_runs_per_hour:
        return f"already ran {runs} time(s) in the last hour (at most {rule.max_runs_per_hour})"
    return None


@dataclass(frozen=True)
class RuleStatus:
    rule: AutoHealRule
    # Why it may not run now ("disabled", cooling down, ...), or None when it is ready.
    waits: str | None


def rule_statuses(*, now: datetime | None = None) -> list[RuleStatus]:
    """Every rule, by name, and whether it may run now: one query for all of them."""
    now = now or timezone.now()
    return [
        RuleStatus(rule, why_rule_waits(rule, now=now) if rule.enabled else "disabled")
        for rule in AutoHealRule.objects.with_recent_runs(now).order_by("name")
    ]


def run_autoheal(*, triggered_by: str) -> AutoHealReport:
    """Diagnose, then run each rule's playbook that its finding and its limits allow.

    Raises `AlreadyRunning` while another auto-heal (or a diagnosis) runs.
    """
    with job_lock(LOCK_NAME, ttl_seconds=LOCK_TTL_SECONDS) as acquired:
        if not acquired:
            raise AlreadyRunning("Auto-heal is already running.")
        diagnosis = run_diagnosis(triggered_by=triggered_by, reason="auto-heal")
        report = AutoHealReport(diagnosis)
        findings = list(diagnosis.findings.all())
        ran: dict[str, int] = {}
        # Read after the diagnosis, in one query; only this pass (the lock is held) starts
        # executions for a rule, each rule once, so the counts stay true while it runs.
        rules = AutoHealRule.objects.filter(enabled=True).with_recent_runs(timezone.now())
        for rule in rules.order_by("name"):
            matching = [
                f for f in findings if rule.matches(check=f.check_name, severity=f.severity)
            ]
            if matching:
                finding = max(matching, key=lambda f: severity_rank(f.severity))
                report.decisions.append(_decide(rule, finding, diagnosis, ran))
        return report


def _decide(
    rule: AutoHealRule, finding: Finding, diagnosis: PlaybookExecution, ran: dict[str, int]
) -> RuleDecision:
    def decision(did_run: bool, reason: str, execution: int | None = None) -> RuleDecision:
        return RuleDecision(
            rule.name, finding.check_name, finding.severity, did_run, reason, execution
        )

    waits = why_rule_waits(rule, now=timezone.now())
    if waits:
        return decision(False, waits)
    if rule.playbook in ran:
        return decision(False, f"{rule.playbook} already ran in this pass (#{ran[rule.playbook]})")
    playbook = get_playbook(rule.playbook)(
        triggered_by=f"rule:{rule.name}",
        dry_run=rule.dry_run,
        reason=f"{finding.check_name} is {finding.severity}: {finding.message}",
        rule=rule,
        parent=diagnosis,
    )
    try:
        execution = playbook.execute()
    except AlreadyRunning as exc:
        return decision(False, str(exc))
    ran[rule.playbook] = execution.pk
    reason = f"{finding.check_name} is {finding.severity}"
    if execution.budget_spent:
        # The bounds hold per window across rules: another rule's run may have used them.
        reason += f"; a bound of {rule.playbook} was already used up in its window"
    return decision(True, reason, execution.pk)
