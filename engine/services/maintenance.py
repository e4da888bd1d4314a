"""The engine's periodic rules: the stuck-task detector and the unblock rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engine.models import FINISHED_STATES, Task, TaskState, Worker, WorkerState
from engine.services.errors import InvalidTransition
from engine.services.history import Actor, set_state, system_actor
from engine.services.leases import end_attempts_held_by, fail_attempt
from engine.services.tasks import lock_task, mark_waiting_approval


@dataclass
class StuckReport:
    workers_offline: list[str] = field(default_factory=list)
    leases_expired: list[int] = field(default_factory=list)
    timed_out: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str] | list[int]]:
        return {
            "workers_offline": self.workers_offline,
            "leases_expired": self.leases_expired,
            "timed_out": self.timed_out,
        }


class StuckTaskDetector:
    """Finds work that nobody is doing any more and gives it back to the queue.

    - a worker silent for longer than the grace period goes offline, and the tasks it held
      end their attempt (retried, or failed after max attempts);
    - a running task whose lease expired ends its attempt likewise;
    - a running task past its timeout ends its attempt as failed ("timed out").
    """

    def __init__(self, *, now: datetime | None = None, grace_seconds: int | None = None) -> None:
        self.now = now or timezone.now()
        grace = grace_seconds or settings.ENGINE_HEARTBEAT_GRACE_SECONDS
        self.cutoff = self.now - timedelta(seconds=grace)

    def run(self) -> StuckReport:
        report = StuckReport()
        self._silent_workers(report)
        self._expired_leases(report)
        self._timeouts(report)
        return report

    def _silent_workers(self, report: StuckReport) -> None:
        silent = Q(last_heartbeat_at__lt=self.cutoff) | Q(
            last_heartbeat_at__isnull=True, created_at__lt=self.cutoff
        )
        for worker in Worker.objects.exclude(state=WorkerState.OFFLINE).filter(silent):
            with transaction.atomic():
                # The silence is checked again in the UPDATE: a heartbeat that landed since
                # the list was read keeps the worker, and its tasks, alive.
                changed = (
                    Worker.objects.filter(silent, pk=worker.pk)
                    .exclude(state=WorkerState.OFFLINE)
                    .update(state=WorkerState.OFFLINE)
                )
                if not changed:
                    continue
                report.workers_offline.append(worker.name)
                end_attempts_held_by(
                    worker,
                    error=f"worker {worker.name} went offline (no heartbeat)",
                    actor=system_actor("stuck-detector"),
                )

    def _expired_leases(self, report: StuckReport) -> None:
        for task_id in Task.objects.lease_expired(self.now).values_list("id", flat=True):
            with transaction.atomic():
                task = Task.objects.select_for_update().filter(pk=task_id).first()
                if task is None or task.state != TaskState.RUNNING:
                    continue
                if task.lease_expires_at is None or task.lease_expires_at >= self.now:
                    continue
                holder = task.lease_worker.name if task.lease_worker else "a worker"
                fail_attempt(
                    task,
                    error=f"lease held by {holder} expired",
                    actor=system_actor("stuck-detector"),
                )
                report.leases_expired.append(task_id)

    def _timeouts(self, report: StuckReport) -> None:
        # Running tasks are few (bounded by the workers' concurrency), so checking each
        # in Python is cheaper than a date arithmetic query that differs per database.
        running = Task.objects.filter(state=TaskState.RUNNING).only(
            "id", "state", "started_at", "timeout_seconds"
        )
        for candidate in running:
            if not candidate.timed_out(self.now):
                continue
            with transaction.atomic():
                task = Task.objects.select_for_update().filter(pk=candidate.pk).first()
                if task is None or not task.timed_out(self.now):
                    continue
                fail_attempt(
                    task,
                    error=f"timed out after {task.timeout_seconds}s",
                    actor=system_actor("stuck-detector"),
                )
                report.timed_out.append(task.pk)


@dataclass
class UnblockReport:
    unblocked: list[int] = field(default_factory=list)
    sent_for_approval: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[int]]:
        return {"unblocked": self.unblocked, "sent_for_approval": self.sent_for_approval}


def apply_unblock_rules(
    *, now: datetime | None = None, unroutable_after_seconds: int | None = None, limit: int = 500
) -> UnblockReport:
    """Blocked tasks whose blocker is done go back to pending; a blocker that failed, and
    pending work that no online worker can do, go to a human for approval."""
    now = now or timezone.now()
    report = UnblockReport()
    # Only tasks whose blocker finished (or is gone): hundreds still waiting on live blockers
    # must not crowd the ready ones out of the limit.
    blocked = (
        Task.objects.filter(state=TaskState.BLOCKED)
        .filter(Q(blocked_by__isnull=True) | Q(blocked_by__state__in=FINISHED_STATES))
        .select_related("blocked_by")
        .order_by("created_at", "id")[:limit]
    )
    for task in blocked:
        blocker = task.blocked_by
        with transaction.atomic():
            locked = Task.objects.select_for_update().get(pk=task.pk)
            if locked.state != TaskState.BLOCKED:
                continue
            if blocker is None or blocker.state == TaskState.DONE:
                locked.run_after = now
                set_state(
                    locked,
                    TaskState.PENDING,
                    actor=system_actor("unblock-rules"),
                    note="blocker is done" if blocker else "blocker is gone",
                    update_fields=["run_after"],
                )
                report.unblocked.append(locked.pk)
            else:
                mark_waiting_approval(
                    locked,
                    reason=f"blocked by #{blocker.pk}, which {blocker.state}",
                    actor=system_actor("unblock-rules"),
                )
                report.sent_for_approval.append(locked.pk)

    wait = unroutable_after_seconds
    if wait is None:
        wait = settings.ENGINE_UNROUTABLE_AFTER_SECONDS
    stranded = (
        Task.objects.filter(state=TaskState.PENDING, run_after__lt=now - timedelta(seconds=wait))
        .exclude(claimable_by_an_online_worker())
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    for task_id in stranded:
        with transaction.atomic():
            locked = Task.objects.select_for_update().get(pk=task_id)
            if locked.state != TaskState.PENDING:
                continue
            mark_waiting_approval(
                locked,
                reason=f"no worker with capability {locked.kind}",
                actor=system_actor("unblock-rules"),
            )
            report.sent_for_approval.append(locked.pk)
    return report


def claimable_by_an_online_worker() -> Q:
    """Tasks some online worker may claim (`TaskRouter.claim`'s rule): a kind a built-in or
    shared worker runs, or a kind one of its creator's own workers runs."""
    everyone: set[str] = set()
    by_owner: dict[int, set[str]] = {}
    rows = Worker.objects.online().values_list("capabilities", "builtin", "shared", "registered_by")
    for capabilities, builtin, shared, owner in rows:
        if builtin or shared:
            everyone.update(capabilities or [])
        elif owner is not None:
            by_owner.setdefault(owner, set()).update(capabilities or [])
    reach = Q(kind__in=sorted(everyone))
    for owner, kinds in by_owner.items():
        reach |= Q(created_by_id=owner, kind__in=sorted(kinds - everyone))
    return reach


def reset_stuck_task(*, task_id: int, actor: Actor, now: datetime | None = None) -> Task:
    """End the attempt of one running task whose lease expired, as the stuck detector would:
    retried later, or failed after its last attempt."""
    now = now or timezone.now()
    with transaction.atomic():
        task = lock_task(task_id)
        if task.state != TaskState.RUNNING:
            raise InvalidTransition(f"task {task_id} is {task.state}, not running")
        if task.lease_expires_at is not None and task.lease_expires_at >= now:
            raise InvalidTransition(f"task {task_id} still holds a live lease")
        holder = task.lease_worker.name if task.lease_worker else "a worker"
        return fail_attempt(task, error=f"lease held by {holder} expired", actor=actor)
