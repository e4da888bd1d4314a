"""Self-heal's domain functions: what the API, the page, the commands, the schedule and
(later) chat's tools call. Each takes primitives or rows and returns rows."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from engine.services.history import user_actor
from selfheal.errors import ExecutionNotFound, NotRevertible
from selfheal.models import AutoHealRule, ExecutionState, PlaybookExecution
from selfheal.playbooks import DiagnoseSystemPlaybook, RepairCommonIssuesPlaybook, RevertPlaybook
from selfheal.playbooks.base import Observer


def actor_for(user: AbstractBaseUser | AnonymousUser | None) -> str:
    return user_actor(user)


def run_diagnosis(
    *,
    triggered_by: str,
    reason: str = "",
    parent: PlaybookExecution | None = None,
    observer: Observer | None = None,
) -> PlaybookExecution:
    """Run every check once. Raises `AlreadyRunning` while another diagnosis runs."""
    playbook = DiagnoseSystemPlaybook(
        triggered_by=triggered_by, reason=reason, parent=parent, observer=observer
    )
    return playbook.execute()


def run_repair(
    *,
    triggered_by: str,
    dry_run: bool = False,
    reason: str = "",
    rule: AutoHealRule | None = None,
    parent: PlaybookExecution | None = None,
    observer: Observer | None = None,
) -> PlaybookExecution:
    """Repair the common faults within their bounds. Raises `AlreadyRunning`."""
    playbook = RepairCommonIssuesPlaybook(
        triggered_by=triggered_by,
        dry_run=dry_run,
        reason=reason,
        rule=rule,
        parent=parent,
        observer=observer,
    )
    return playbook.execute()


def get_execution(*, execution_id: int) -> PlaybookExecution:
    execution = PlaybookExecution.objects.select_related("rule").filter(pk=execution_id).first()
    if execution is None:
        raise ExecutionNotFound(f"execution {execution_id} does not exist")
    return execution


def revert_execution(
    *, execution_id: int, triggered_by: str, dry_run: bool = False
) -> PlaybookExecution:
    """Put back the rows an execution changed, except those changed since (reported)."""
    target = get_execution(execution_id=execution_id)
    if target.state == ExecutionState.RUNNING:
        raise NotRevertible(f"execution #{target.pk} is still running")
    if target.playbook == RevertPlaybook.name:
        raise NotRevertible(f"execution #{target.pk} is a revert; run the playbook again instead")
    if target.dry_run:
        raise NotRevertible(f"execution #{target.pk} was a dry run: it changed nothing")
    if target.reverted_at is not None:
        raise NotRevertible(f"execution #{target.pk} was already reverted")
    if not target.snapshots.exists():
        raise NotRevertible(f"execution #{target.pk} changed no rows")
    playbook = RevertPlaybook(
        triggered_by=triggered_by,
        dry_run=dry_run,
        reason=f"revert of execution #{target.pk}",
        target=target,
    )
    return playbook.execute()


def running_executions() -> list[PlaybookExecution]:
    return list(PlaybookExecution.objects.running().order_by("started_at"))
