"""Findings for people and agents: list them, rule on them, hand one to an engine task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from codehealth.errors import FindingNotFound, InvalidFindingChange
from codehealth.models import Finding, FindingEvent, FindingState, Repository
from engine.models import Task, TaskSource
from engine.services import create_task
from engine.services.history import Actor

ACCEPT = "accept"
FALSE_POSITIVE = "false_positive"
REOPEN = "reopen"
ACTIONS = (ACCEPT, FALSE_POSITIVE, REOPEN)
CURRENT = "current"  # every state but fixed: what the code has now


def list_findings(
    *,
    repository: Repository | None = None,
    kind: str = "",
    severity: str = "",
    state: str = "",
    tool: str = "",
    rule: str = "",
    path: str = "",
    new_only: bool = False,
    query: str = "",
    confidence: str = "",
) -> QuerySet[Finding]:
    """Findings filtered by what is given (blank: any). `state` may be a state or
    "current" (not fixed); `path` is a prefix."""
    findings = Finding.objects.select_related("repository")
    if repository is not None:
        findings = findings.filter(repository=repository)
    if state == CURRENT:
        findings = findings.exclude(state=FindingState.FIXED)
    elif state:
        findings = findings.filter(state=state)
    lookups = {
        "kind": kind,
        "severity": severity,
        "tool": tool,
        "rule": rule,
        "confidence": confidence,
    }
    findings = findings.filter(**{k: v for k, v in lookups.items() if v})
    if path:
        findings = findings.filter(path__startswith=path)
    if new_only:
        findings = findings.filter(is_new=True)
    if query:
        findings = findings.filter(Q(message__icontains=query) | Q(path__icontains=query))
    return findings


def _locked(finding_id: int) -> Finding:
    finding = Finding.objects.select_for_update().filter(pk=finding_id).first()
    if finding is None:
        raise FindingNotFound(f"finding {finding_id} does not exist")
    return finding


def _set(finding: Finding, to_state: str, *, actor: Actor, note: str) -> Finding:
    FindingEvent.objects.create(
        finding=finding, from_state=finding.state, to_state=to_state, actor=actor, note=note
    )
    finding.state = to_state
    finding.state_reason = note
    finding.state_changed_at = timezone.now()
    finding.state_changed_by = actor
    if to_state != FindingState.ACCEPTED:
        finding.accepted_until = None
    finding.save(
        update_fields=[
            "state",
            "state_reason",
            "state_changed_at",
            "state_changed_by",
            "accepted_until",
            "updated_at",
        ]
    )
    return finding


@transaction.atomic
def accept_finding(*, finding_id: int, reason: str, until: datetime, actor: Actor) -> Finding:
    """Accept a finding until a date: it stops counting, and counts again when that passes."""
    finding = _locked(finding_id)
    if not reason.strip():
        raise InvalidFindingChange("accepting a finding needs a reason")
    if until <= timezone.now():
        raise InvalidFindingChange("an acceptance must expire in the future")
    if finding.state == FindingState.FIXED:
        raise InvalidFindingChange(f"finding {finding_id} is fixed")
    finding.accepted_until = until
    if finding.state == FindingState.ACCEPTED:  # a new reason or expiry
        finding.state_reason = reason.strip()
        finding.save(update_fields=["accepted_until", "state_reason", "updated_at"])
        return finding
    return _set(finding, FindingState.ACCEPTED, actor=actor, note=reason.strip())


@transaction.atomic
def mark_false_positive(*, finding_id: int, reason: str, actor: Actor) -> Finding:
    """Not a problem: remembered even while it is gone, so it comes back as one."""
    finding = _locked(finding_id)
    if not reason.strip():
        raise InvalidFindingChange("a false positive needs a reason")
    if finding.state == FindingState.FALSE_POSITIVE:
        return finding
    return _set(finding, FindingState.FALSE_POSITIVE, actor=actor, note=reason.strip())


@transaction.atomic
def reopen_finding(*, finding_id: int, actor: Actor, note: str = "") -> Finding:
    """Undo an acceptance or a false positive."""
    finding = _locked(finding_id)
    if finding.state not in (FindingState.ACCEPTED, FindingState.FALSE_POSITIVE):
        raise InvalidFindingChange(f"finding {finding_id} is {finding.state}, not ruled on")
    return _set(finding, FindingState.OPEN, actor=actor, note=note or "reopened")


def change_finding_state(
    *,
    finding_id: int,
    action: str,
    actor: Actor,
    reason: str = "",
    until: datetime | None = None,
) -> Finding:
    if action == ACCEPT:
        if until is None:
            raise InvalidFindingChange("accepting a finding needs an expiry")
        return accept_finding(finding_id=finding_id, reason=reason, until=until, actor=actor)
    if action == FALSE_POSITIVE:
        return mark_false_positive(finding_id=finding_id, reason=reason, actor=actor)
    if action == REOPEN:
        return reopen_finding(finding_id=finding_id, actor=actor, note=reason)
    raise InvalidFindingChange(f"no action {action!r}; one of {', '.join(ACTIONS)}")


def finding_payload(finding: Finding) -> dict[str, Any]:
    return {
        "finding": finding.pk,
        "repository": finding.repository.name,
        "tool": finding.tool,
        "rule": finding.rule,
        "severity": finding.severity,
        "path": finding.path,
        "line": finding.line,
        "message": finding.message,
        "commit": finding.last_seen_scan.commit if finding.last_seen_scan else "",
    }


@transaction.atomic
def create_finding_task(*, finding_id: int, actor: Actor, created_by: User | None = None) -> Task:
    """An engine task to fix the finding (for the agent or a person), linked to it: when a
    scan finds it fixed, the task is closed with it. One unfinished task per finding."""
    finding = _locked(finding_id)
    finding = Finding.objects.select_related("repository", "last_seen_scan").get(pk=finding.pk)
    if finding.state == FindingState.FIXED:
        raise InvalidFindingChange(f"finding {finding_id} is fixed already")
    where = f"{finding.path}:{finding.line}" if finding.line else finding.path
    task = create_task(
        title=f"Fix {finding.tool} {finding.rule} in {where}"[:200],
        kind=settings.CODEHEALTH_TASK_KIND,
        payload=finding_payload(finding),
        dedupe_key=f"codehealth.finding:{finding.pk}",
        source=TaskSource.CODEHEALTH,
        source_ref=f"finding:{finding.pk}",
        created_by=created_by,
        actor=actor,
    ).task
    finding.task = task
    finding.save(update_fields=["task", "updated_at"])
    return task
