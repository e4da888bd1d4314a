"""`Playbook`: the base every playbook runs on, and the safety it enforces for all of them.

- One execution of a playbook at a time: the execution row is the lock (a partial unique
  constraint on running rows), so a second start is refused with `AlreadyRunning`.
- Every step that changes rows has a bound, a class constant written into the execution row;
  it holds over a window (an hour by default) across every execution of the playbook, so
  what earlier runs used in the window is read when a run starts (`selfheal.budgets`) and
  written into the row too. `Run.change` refuses to touch a row past it, and the step
  reports the candidates it left, and whether the window's budget was what held them back.
- A dry run goes through the same steps and records what it would change, changing nothing.
- Before a row changes, the whole row is saved in a `Snapshot`, in the same transaction as
  the change; the snapshot also keeps the row as the action left it, so that a revert can
  tell whether someone changed it since.
- Every change, planned change or skipped change is a `RepairAction`: what, why, before,
  after, the bound, and who or what triggered the execution.

Adding a playbook: subclass `Playbook`, set `name`, `title`, `bounds` (from class constants)
and `total_steps`, write `run(run)` using only `run.change`, `run.create`, `run.progress`
and `run.record`, and `register_playbook` it in `selfheal.playbooks`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from engine.services.errors import EngineError
from selfheal.budgets import PlaybookBudget, default_window, playbook_budget
from selfheal.checks import CheckContext, CheckOutcome, registered_checks
from selfheal.errors import AlreadyRunning, BoundExceeded
from selfheal.models import (
    ActionStatus,
    AutoHealRule,
    ExecutionState,
    Finding,
    FindingPhase,
    PlaybookExecution,
    RepairAction,
    Snapshot,
    SnapshotOperation,
    worst_severity,
)
from selfheal.rows import diff, model_label, serialize_row, target_label, to_json, to_json_tree

logger = logging.getLogger(__name__)

Observer = Callable[[PlaybookExecution, dict[str, Any]], None]
LEFT_SHOWN = 20


class SkipRow(Exception):
    """Raised by a guard: this candidate no longer qualifies; leave it and say why."""


@dataclass
class StepReport:
    name: str
    bound: int
    candidates: int = 0
    # What the bound's window had left when the run began (None: the bound holds per run).
    budget_left: int | None = None
    applied: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    left_count: int = 0

    @property
    def limit(self) -> int:
        """The most this run may change: the bound, or less when its window used some."""
        return self.bound if self.budget_left is None else min(self.bound, self.budget_left)

    @property
    def used(self) -> int:
        return len(self.applied) + len(self.planned)

    @property
    def has_room(self) -> bool:
        return self.used < self.limit

    @property
    def held_by_budget(self) -> bool:
        """Candidates were left because the window's budget ran out, not this run's bound."""
        return self.left_count > 0 and self.limit < self.bound

    def leave(self, targets: list[str], *, total: int) -> None:
        """Candidates past the bound: counted and a few named, never touched."""
        self.left = targets[:LEFT_SHOWN]
        self.left_count = total

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bound": self.bound,
            "budget_left": self.budget_left,
            "held_by_budget": self.held_by_budget,
            "candidates": self.candidates,
            "applied": self.applied,
            "planned": self.planned,
            "skipped": self.skipped,
            "left": self.left,
            "left_count": self.left_count,
        }


class Run:
    """One execution in progress: the only way a playbook records and changes anything."""

    def __init__(
        self, playbook: Playbook, execution: PlaybookExecution, budget: PlaybookBudget
    ) -> None:
        self.playbook = playbook
        self.execution = execution
        self.budget = budget
        self.dry_run = execution.dry_run
        self.actor = execution.triggered_by
        self.steps: dict[str, StepReport] = {}
        self.outcome: dict[str, Any] = {}
        self.findings: dict[str, list[CheckOutcome]] = {}

    # --- progress and findings -------------------------------------------------------
    def progress(self, label: str, *, step: int) -> None:
        progress = {"label": label, "step": step, "of": self.playbook.total_steps}
        self.execution.progress = progress
        PlaybookExecution.objects.filter(pk=self.execution.pk).update(
            progress=progress, heartbeat_at=timezone.now()
        )
        if self.playbook.observer is not None:
            self.playbook.observer(self.execution, progress)

    def diagnose(self, *, phase: FindingPhase, first_step: int) -> list[CheckOutcome]:
        """Run every registered check, recording each as a finding."""
        context = CheckContext.current()
        outcomes = []
        for offset, check_class in enumerate(registered_checks()):
            self.progress(f"Checking: {check_class.title}", step=first_step + offset)
            outcomes.append(check_class().measure(context))
        self.record(outcomes, phase=phase)
        return outcomes

    def record(self, outcomes: list[CheckOutcome], *, phase: FindingPhase) -> None:
        self.findings[phase] = outcomes
        Finding.objects.bulk_create(
            Finding(
                execution=self.execution,
                phase=phase,
                position=position,
                check_name=outcome.check,
                title=outcome.title,
                severity=outcome.severity,
                message=outcome.result.message,
                evidence=to_json_tree(outcome.result.evidence),
                suggestion=outcome.result.suggestion,
                duration_ms=outcome.duration_ms,
            )
            for position, outcome in enumerate(outcomes)
        )

    # --- bounded changes -------------------------------------------------------------
    def step(self, name: str, *, candidates: int) -> StepReport:
        if name not in self.playbook.bounds:
            raise BoundExceeded(f"step {name!r} of {self.playbook.name} declares no bound")
        report = StepReport(
            name=name,
            bound=self.playbook.bounds[name],
            candidates=candidates,
            budget_left=self.budget.left(name),
        )
        self.steps[name] = report
        return report

    def _ensure_room(self, step: StepReport) -> None:
        if not step.has_room:
            raise BoundExceeded(
                f"{self.playbook.name}.{step.name} would exceed its bound of {step.bound}"
                + ("" if step.limit == step.bound else f" ({step.limit} left in its window)")
            )

    def change(
        self,
        step: StepReport,
        *,
        target: models.Model,
        what: str,
        why: str,
        apply: Callable[[], object],
        planned: dict[str, Any],
        guard: Callable[[Any], None] | None = None,
    ) -> bool:
        """Change one row through `apply`, snapshotting it first. False if it was left."""
        self._ensure_room(step)
        label = target_label(target)
        if self.dry_run:
            # The same question the real run asks, of the row as it is: a plan that would
            # be left when run says so (a revert's "changed since", say).
            try:
                if guard is not None:
                    guard(target)
            except SkipRow as exc:
                self.skip(step, what, why, label, str(exc))
                return False
            before = serialize_row(target)
            old, new = diff(before, {**before, **{k: to_json(v) for k, v in planned.items()}})
            self._action(step, ActionStatus.PLANNED, what, why, label, old, new)
            step.planned.append(label)
            return True
        model = type(target)
        try:
            with transaction.atomic():
                locked = model._default_manager.select_for_update().filter(pk=target.pk).first()
                if locked is None:
                    raise SkipRow("the row no longer exists")
                if guard is not None:
                    guard(locked)
                before = serialize_row(locked)
                snapshot = Snapshot.objects.create(
                    execution=self.execution,
                    model_label=model_label(model),
                    object_pk=str(target.pk),
                    operation=SnapshotOperation.UPDATE,
                    before=before,
                )
                apply()
                after = serialize_row(model._default_manager.get(pk=target.pk))
                old, new = diff(before, after)
                action = self._action(step, ActionStatus.APPLIED, what, why, label, old, new)
                snapshot.after = after
                snapshot.action = action
                snapshot.save(update_fields=["after", "action"])
        except (SkipRow, EngineError) as exc:
            self.skip(step, what, why, label, str(exc))
            return False
        step.applied.append(label)
        return True

    def create(
        self,
        step: StepReport,
        *,
        what: str,
        why: str,
        make: Callable[[], tuple[models.Model, bool]],
        planned: dict[str, Any],
        shown: tuple[str, ...],
    ) -> models.Model | None:
        """Create one row through `make` (which may find it exists: then nothing is created)."""
        self._ensure_room(step)
        if self.dry_run:
            self._action(step, ActionStatus.PLANNED, what, why, "new", None, to_json_tree(planned))
            step.planned.append(f"new: {what}")
            return None
        with transaction.atomic():
            obj, created = make()
            label = target_label(obj)
            if not created:
                self.skip(step, what, why, label, f"already open as {label}")
                return None
            after = serialize_row(obj)
            visible = {name: after.get(name) for name in ("id", *shown)}
            action = self._action(step, ActionStatus.APPLIED, what, why, label, None, visible)
            Snapshot.objects.create(
                execution=self.execution,
                action=action,
                model_label=model_label(obj),
                object_pk=str(obj.pk),
                operation=SnapshotOperation.CREATE,
                before=None,
                after=after,
            )
        step.applied.append(label)
        return obj

    def skip(self, step: StepReport, what: str, why: str, label: str, reason: str) -> None:
        """A candidate left alone, and why: an audit row too."""
        self._action(step, ActionStatus.SKIPPED, what, f"{why} Left: {reason}", label, None, None)
        step.skipped.append({"target": label, "reason": reason})

    def _action(
        self,
        step: StepReport,
        status: ActionStatus,
        what: str,
        why: str,
        target: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> RepairAction:
        return RepairAction.objects.create(
            execution=self.execution,
            step=step.name,
            status=status,
            what=what[:200],
            why=why,
            target=target[:100],
            before=before,
            after=after,
            bound=step.bound,
            actor=self.actor,
        )

    # --- the end ---------------------------------------------------------------------
    def close(self, *, state: ExecutionState, error: str = "") -> None:
        execution = self.execution
        final = self.findings.get(FindingPhase.VERIFY) or self.findings.get(FindingPhase.CHECK)
        execution.state = state
        execution.error = error
        execution.budget_spent = any(step.held_by_budget for step in self.steps.values())
        execution.finished_at = timezone.now()
        execution.worst_severity = worst_severity([o.severity for o in final]) if final else ""
        execution.outcome = to_json_tree(
            # A list, not a mapping: PostgreSQL's jsonb does not keep the order of keys.
            {"steps": [s.as_dict() for s in self.steps.values()], **self.outcome}
        )
        execution.summary = error or self.playbook.summarize(self)
        execution.progress = {
            "label": "failed" if state == ExecutionState.FAILED else "finished",
            "step": self.playbook.total_steps,
            "of": self.playbook.total_steps,
        }
        execution.save(
            update_fields=[
                "state",
                "error",
                "budget_spent",
                "finished_at",
                "worst_severity",
                "outcome",
                "summary",
                "progress",
            ]
        )


class Playbook:
    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    bounds: ClassVar[dict[str, int]] = {}
    # The window each bound holds over, across every execution of the playbook (rules,
    # buttons, the API, chat): None is SELFHEAL_BOUND_WINDOW_MINUTES; 0, each run on its own.
    BOUND_WINDOW_MINUTES: ClassVar[int | None] = None
    # A running row silent this long belongs to a process that died; it no longer locks.
    STALE_AFTER_SECONDS: ClassVar[int] = 600

    def __init__(
        self,
        *,
        triggered_by: str,
        dry_run: bool = False,
        reason: str = "",
        rule: AutoHealRule | None = None,
        parent: PlaybookExecution | None = None,
        target: PlaybookExecution | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.triggered_by = triggered_by
        self.dry_run = dry_run
        self.reason = reason
        self.rule = rule
        self.parent = parent
        self.target = target
        self.observer = observer

    @property
    def total_steps(self) -> int:
        return 1

    def run(self, run: Run) -> None:
        raise NotImplementedError

    def summarize(self, run: Run) -> str:
        return ""

    def final_state(self, run: Run) -> ExecutionState:
        """How a run that raised nothing ended: done, unless the playbook says partly."""
        return ExecutionState.DONE

    def finished(self, execution: PlaybookExecution) -> None:
        """Called once the execution row is closed, whatever its state."""

    @classmethod
    def bound_window(cls) -> timedelta:
        if cls.BOUND_WINDOW_MINUTES is None:
            return default_window()
        return timedelta(minutes=cls.BOUND_WINDOW_MINUTES)

    @classmethod
    def budget(cls, *, now: datetime, exclude_execution: int | None = None) -> PlaybookBudget:
        """Each bound and what is left of it in its window ending `now`."""
        return playbook_budget(
            playbook=cls.name,
            bounds=dict(cls.bounds),
            window=cls.bound_window(),
            now=now,
            exclude_execution=exclude_execution,
        )

    def execute(self) -> PlaybookExecution:
        """Run the playbook once. Raises `AlreadyRunning` if an execution of it runs."""
        execution = self._start()
        # Read once the running row holds the lock: no other execution of this playbook
        # can change rows until this one ends, so what is left stays true while it runs.
        budget = self.budget(now=execution.started_at, exclude_execution=execution.pk)
        execution.budget = to_json_tree(budget.as_dict())
        PlaybookExecution.objects.filter(pk=execution.pk).update(budget=execution.budget)
        run = Run(self, execution, budget)
        try:
            self.run(run)
        except Exception as exc:
            # The execution row is the lock and the record: whatever went wrong, it ends
            # failed with the reason, so the playbook can run again and the page says why.
            logger.exception("playbook %s failed (execution #%s)", self.name, execution.pk)
            run.close(state=ExecutionState.FAILED, error=f"{type(exc).__name__}: {exc}")
        else:
            run.close(state=self.final_state(run))
        self.finished(execution)
        return execution

    def _start(self) -> PlaybookExecution:
        PlaybookExecution.objects.abandoned(
            playbook=self.name,
            now=timezone.now(),
            after=timedelta(seconds=self.STALE_AFTER_SECONDS),
        )
        progress = {"label": "starting", "step": 0, "of": self.total_steps}
        try:
            with transaction.atomic():
                # Stamped once the transaction holds the database (SQLite takes its write
                # lock here), so that a start that waited is not dated before it began.
                now = timezone.now()
                return PlaybookExecution.objects.create(
                    playbook=self.name,
                    dry_run=self.dry_run,
                    triggered_by=self.triggered_by[:150],
                    reason=self.reason,
                    rule=self.rule,
                    parent=self.parent,
                    target=self.target,
                    bounds=dict(self.bounds),
                    progress=progress,
                    started_at=now,
                    heartbeat_at=now,
                )
        except IntegrityError:
            running = PlaybookExecution.objects.running().filter(playbook=self.name).first()
            who = f" (execution #{running.pk}, by {running.triggered_by})" if running else ""
            raise AlreadyRunning(f"{self.title} is already running{who}.") from None
