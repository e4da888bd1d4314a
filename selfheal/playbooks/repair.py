"""`RepairCommonIssuesPlaybook`: the common faults, each fixed within a bound, then verified.

1. blocked tasks whose blocker is done or gone go back to pending (at most 10);
2. running tasks past their lease end their attempt, as the stuck detector would (at most 5);
3. a fix task for each of the top recurring error patterns (at most 3, one open per pattern;
   "recurring" is the diagnosis's definition, `selfheal.error_patterns.Recurrence`), or
   what an app above registered instead (`selfheal.fixes.register_fix_opener`);
4. the diagnosis again, and what improved and what did not.

Each bound holds per window (an hour by default) across every run of the playbook,
whoever starts it (`selfheal.budgets`). Every change goes through the engine's services,
which write the task's history.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from django.conf import settings
from django.utils import timezone

from engine.models import Task, TaskSource, TaskState
from engine.services import reset_stuck_task, unblock_task
from engine.services.history import system_actor
from selfheal.checks import ErrorPatternsCheck, registered_checks, releasable_blocked
from selfheal.error_patterns import ErrorPattern, recurring_patterns
from selfheal.fixes import open_fix
from selfheal.models import FindingPhase
from selfheal.playbooks.base import Playbook, Run, SkipRow, StepReport
from selfheal.playbooks.diagnose import summarize_findings
from selfheal.playbooks.verify import compare, describe

ENGINE_ACTOR = system_actor("selfheal-repair")


class RepairCommonIssuesPlaybook(Playbook):
    name = "repair"
    title = "Repair"
    description = "Unblock, reset stuck tasks, open fix tasks for recurring errors; verify."

    MAX_BLOCKED_RESETS: Final = 10
    MAX_STUCK_RESETS: Final = 5
    MAX_FIX_TASKS: Final = 3
    bounds = {
        "reset_blocked": MAX_BLOCKED_RESETS,
        "reset_stuck": MAX_STUCK_RESETS,
        "create_fix_tasks": MAX_FIX_TASKS,
    }
    PATTERNS_CONSIDERED: Final = 10
    FIX_TASK_PRIORITY: Final = 70

    @property
    def total_steps(self) -> int:
        checks = len(registered_checks())
        return checks + 3 + (0 if self.dry_run else checks)

    def run(self, run: Run) -> None:
        checks = len(registered_checks())
        before = run.diagnose(phase=FindingPhase.CHECK, first_step=1)
        run.progress("Resetting blocked tasks", step=checks + 1)
        self.reset_blocked(run)
        run.progress("Resetting stuck running tasks", step=checks + 2)
        self.reset_stuck(run)
        run.progress("Opening fix tasks for recurring errors", step=checks + 3)
        self.create_fix_tasks(run)
        if run.dry_run:
            run.outcome["verify"] = {"skipped": "a dry run changes nothing to verify"}
            return
        after = run.diagnose(phase=FindingPhase.VERIFY, first_step=checks + 4)
        run.outcome["verify"] = compare(before, after)

    def _note(self, run: Run, why: str) -> str:
        return f"self-heal execution #{run.execution.pk} ({run.actor}): {why}"

    # --- 1. blocked ------------------------------------------------------------------
    def reset_blocked(self, run: Run) -> None:
        candidates = Task.objects.filter(releasable_blocked()).order_by("created_at", "id")
        step = run.step("reset_blocked", candidates=candidates.count())
        # A few spare candidates, for those that move on their own while we work.
        for task in candidates[: step.bound * 2]:
            if not step.has_room:
                break
            run.change(
                step,
                target=task,
                what=f"Unblock task #{task.pk} ({task.title[:80]})",
                why="Its blocker is done or gone, so nothing will ever move it.",
                apply=partial(
                    unblock_task,
                    task_id=task.pk,
                    actor=ENGINE_ACTOR,
                    note=self._note(run, "blocker is done"),
                ),
                planned={"state": TaskState.PENDING.value, "run_after": timezone.now()},
                guard=_still_releasable,
            )
        _leave_rest(step, candidates.values_list("id", flat=True)[: step.bound * 3])

    # --- 2. stuck --------------------------------------------------------------------
    def reset_stuck(self, run: Run) -> None:
        now = timezone.now()
        candidates = Task.objects.lease_expired(now).select_related("lease_worker")
        candidates = candidates.order_by("lease_expires_at", "id")
        step = run.step("reset_stuck", candidates=candidates.count())
        for task in candidates[: step.bound * 2]:
            if not step.has_room:
                break
            holder = task.lease_worker.name if task.lease_worker else "a worker"
            retry = task.attempts < task.max_attempts
            run.change(
                step,
                target=task,
                what=f"Reset stuck task #{task.pk} ({task.title[:80]})",
                why=f"Running past its lease (held by {holder}, expired "
                f"{task.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC).",
                apply=partial(reset_stuck_task, task_id=task.pk, actor=ENGINE_ACTOR, now=now),
                planned={
                    "state": (TaskState.PENDING if retry else TaskState.FAILED).value,
                    "lease_worker_id": None,
                    "lease_expires_at": None,
                    "last_error": f"lease held by {holder} expired",
                },
                guard=lambda locked: _still_stuck(locked, now),
            )
        _leave_rest(step, candidates.values_list("id", flat=True)[: step.bound * 3])

    # --- 3. fix tasks ----------------------------------------------------------------
    def create_fix_tasks(self, run: Run) -> None:
        # The diagnosis's definition of "recurring", so that the repair never opens a fix
        # task for a pattern the diagnosis calls quiet.
        rule = ErrorPatternsCheck.RECURRENCE
        now = timezone.now()
        patterns = recurring_patterns(now=now, limit=self.PATTERNS_CONSIDERED, rule=rule)
        step = run.step("create_fix_tasks", candidates=len(patterns))
        left: list[str] = []
        hours = f"{rule.window.total_seconds() / 3600:g}"
        for pattern in patterns:
            what = f"Open a fix task for: {pattern.text[:120]}"
            seen = f", last at {pattern.last_seen:%H:%M:%S} UTC" if pattern.last_seen else ""
            why = f"{pattern.count} failures in {hours} h{seen} (source: {pattern.source})."
            key = fix_task_key(pattern)
            existing = Task.objects.unfinished().filter(dedupe_key=key).first()
            if existing is not None:
                run.skip(
                    step, what, why, f"engine.task#{existing.pk}", "a fix task is already open"
                )
                continue
            if not step.has_room:
                left.append(pattern.key)
                continue
            values = self._fix_task_values(run, pattern, key)
            run.create(
                step,
                what=what,
                why=why,
                make=partial(open_fix, pattern, values),
                planned={k: values[k] for k in ("title", "kind", "priority", "dedupe_key")},
                shown=("title", "kind", "priority", "state", "dedupe_key"),
            )
        step.leave(left, total=len(left))

    def _fix_task_values(self, run: Run, pattern: ErrorPattern, key: str) -> dict[str, Any]:
        return {
            "title": f"Fix recurring error: {pattern.text}"[:200],
            "kind": settings.SELFHEAL_FIX_TASK_KIND,
            "payload": {
                "instructions": "Find the cause of this recurring error and fix it; examples "
                "are listed. Close this task once the pattern goes quiet.",
                "pattern": pattern.as_dict(),
                "selfheal_execution": run.execution.pk,
            },
            "priority": self.FIX_TASK_PRIORITY,
            "dedupe_key": key,
            "source": TaskSource.SELFHEAL,
            "source_ref": f"selfheal:execution:{run.execution.pk}",
            "actor": ENGINE_ACTOR,
        }

    def summarize(self, run: Run) -> str:
        parts = []
        for name, step in run.steps.items():
            done, verb, noun = STEP_WORDS[name]
            used = len(step.planned) if run.dry_run else len(step.applied)
            text = f"{verb if run.dry_run else done} {used} of {step.candidates} {noun}"
            if step.held_by_budget:
                text += f" ({step.left_count} held back: {self._budget_words(run, name)})"
            elif step.left_count:
                text += f" ({step.left_count} past the bound)"
            if step.skipped:
                text += f", {len(step.skipped)} left alone"
            parts.append(text)
        head = ("Would " if run.dry_run else "") + "; ".join(parts) + "."
        verify = run.outcome.get("verify", {})
        lines = [head[0].upper() + head[1:], describe(verify), summarize_findings(run)]
        if any(step.held_by_budget for step in run.steps.values()):
            lines.insert(0, "Budget spent:")
        return " ".join(line for line in lines if line)

    def _budget_words(self, run: Run, name: str) -> str:
        """`10 of 10 per 60 min used (6 by earlier runs), room again at 14:32 UTC`."""
        budget, step = run.budget.steps[name], run.steps[name]
        minutes = int(run.budget.window.total_seconds() // 60)
        text = (
            f"{budget.used + step.used} of {budget.bound} per {minutes} min used "
            f"({budget.used} by earlier runs)"
        )
        if budget.oldest is None:
            return text
        return f"{text}, room again at {budget.oldest + run.budget.window:%H:%M} UTC"


STEP_WORDS = {
    "reset_blocked": ("unblocked", "unblock", "blocked tasks"),
    "reset_stuck": ("reset", "reset", "stuck tasks"),
    "create_fix_tasks": ("opened fix tasks for", "open fix tasks for", "recurring patterns"),
}


def fix_task_key(pattern: ErrorPattern) -> str:
    return (pattern.task_key or f"selfheal:fix:{pattern.key}")[:200]


def _still_releasable(task: Task) -> None:
    if task.state != TaskState.BLOCKED:
        raise SkipRow(f"it is {task.state} now")
    if task.blocked_by_id is None:
        return
    if Task.objects.filter(pk=task.blocked_by_id).exclude(state=TaskState.DONE).exists():
        raise SkipRow("its blocker is no longer done")


def _still_stuck(task: Task, now: Any) -> None:
    if task.state != TaskState.RUNNING:
        raise SkipRow(f"it is {task.state} now")
    if task.lease_expires_at is None or task.lease_expires_at >= now:
        raise SkipRow("its worker renewed the lease")


def _leave_rest(step: StepReport, ids: Any) -> None:
    touched = {label.split("#")[-1] for label in step.applied + step.planned}
    touched |= {item["target"].split("#")[-1] for item in step.skipped}
    rest = [f"engine.task#{pk}" for pk in ids if str(pk) not in touched]
    step.leave(rest, total=max(step.candidates - step.used - len(step.skipped), 0))


__all__ = ["RepairCommonIssuesPlaybook", "fix_task_key"]
