"""Self-heal's domain functions: what the API, the page, the commands, the schedule and
(later) chat's tools call. Each takes primitives or rows and returns rows."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AbstractUser, AnonymousUser

from engine.services.history import user_actor
from selfheal.errors import ExecutionNotFound, NotRevertible, RepairNotAllowed
from selfheal.models import AutoHealRule, ExecutionState, PlaybookExecution
from selfheal.playbooks import DiagnoseSystemPlaybook, RepairCommonIssuesPlaybook, RevertPlaybook
from selfheal.playbooks.base import Observer

# Granted in the admin, to a group (docs/security.md) or a user: "selfheal | playbook
# execution | Can run self-heal repairs and auto-heal" and "... Can revert self-heal
# executions". Superusers hold both.
RUN_REPAIR_PERMISSION = "selfheal.run_repair"
REVERT_PERMISSION = "selfheal.revert_execution"
REPAIR_REFUSED = (
    "Repairs and auto-heal change the system: they need the "
    f"{RUN_REPAIR_PERMISSION} permission (the operator and admin groups hold it), which an "
    "administrator grants in the admin. Diagnosis is open to everyone signed in."
)
REVERT_REFUSED = (
    f"Reverts change the system: they need the {REVERT_PERMISSION} permission (the operator "
    "and admin groups hold it), which an administrator grants in the admin."
)


def actor_for(user: AbstractBaseUser | AnonymousUser | None) -> str:
    return user_actor(user)


def _holds(user: AbstractBaseUser | AnonymousUser | None, permission: str) -> bool:
    return isinstance(user, AbstractUser) and user.is_active and user.has_perm(permission)


def may_run_repair(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Whether this user may start a repair (a dry run too) or an auto-heal pass: an active
    user holding `selfheal.run_repair` (directly, by group, or as a superuser)."""
    return _holds(user, RUN_REPAIR_PERMISSION)


def may_revert(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Whether this user may revert an execution: `selfheal.revert_execution`."""
    return _holds(user, REVERT_PERMISSION)


def require_repair_permission(user: AbstractBaseUser | AnonymousUser | None) -> None:
    """Raise `RepairNotAllowed` (403) unless `may_run_repair(user)`."""
    if not may_run_repair(user):
        raise RepairNotAllowed(REPAIR_REFUSED)


def require_revert_permission(user: AbstractBaseUser | AnonymousUser | None) -> None:
    """Raise `RepairNotAllowed` (403) unless `may_revert(user)`."""
    if not may_revert(user):
        raise RepairNotAllowed(REVERT_REFUSED)


def user_by_id(user_id: int) -> AbstractBaseUser | None:
    """The user a chat session acts for, to check what it may do."""
    return get_user_model()._default_manager.filter(pk=user_id).first()


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
