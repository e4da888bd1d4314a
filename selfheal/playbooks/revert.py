"""`RevertPlaybook`: put back every row an execution changed, newest change first.

A row that changed again since the execution left it (someone else's write, a worker's
claim, a later repair) is left as it is, and the report names it and the fields that moved.
A revert that restored less than every row ends `partial`, not done ("Restored 0 of 3" once
showed a green Done, and the history called the repair reverted); one that restored none says
"Nothing restored" with the rows' reasons, never "partly". The reverted execution keeps how
its revert ended in `revert_state`. A revert is itself an execution, with its own
actions and snapshots. Its bound holds per run: undoing is never held back by an hour's use.
"""

from __future__ import annotations

from typing import Any, Final

from django.apps import apps
from django.utils import timezone

from selfheal.errors import NotRevertible
from selfheal.models import (
    ExecutionState,
    PlaybookExecution,
    RestoreStatus,
    Snapshot,
    SnapshotOperation,
)
from selfheal.playbooks.base import Playbook, Run, SkipRow, StepReport
from selfheal.restorers import restorer_for
from selfheal.rows import changed_fields, serialize_row


class RevertPlaybook(Playbook):
    name = "revert"
    title = "Revert"
    description = "Restore the rows an execution changed, unless they changed since."

    MAX_RESTORES: Final = 100
    bounds = {"restore": MAX_RESTORES}
    BOUND_WINDOW_MINUTES = 0

    _total: int | None = None

    @property
    def total_steps(self) -> int:
        if self._total is None:
            self._total = max(self.target.snapshots.count(), 1) if self.target else 1
        return self._total

    def run(self, run: Run) -> None:
        target = self.target
        if target is None:
            raise NotRevertible("a revert needs the execution to revert")
        if not run.dry_run:
            claimed = PlaybookExecution.objects.filter(
                pk=target.pk, reverted_at__isnull=True
            ).update(reverted_at=timezone.now(), revert_state=ExecutionState.RUNNING)
            if not claimed:
                raise NotRevertible(f"execution #{target.pk} is already reverted")
        run.outcome["target"] = target.pk
        try:
            self._restore_all(run, target)
        except BaseException:
            # The claim above keeps two reverts from running at once; a revert that failed
            # must not keep it, or the execution could never be reverted again.
            if not run.dry_run:
                PlaybookExecution.objects.filter(pk=target.pk).update(
                    reverted_at=None, revert_state=""
                )
            raise

    def final_state(self, run: Run) -> ExecutionState:
        step = run.steps.get("restore")
        if step is None:
            return ExecutionState.DONE
        done = len(step.planned if run.dry_run else step.applied)
        return ExecutionState.DONE if done == step.candidates else ExecutionState.PARTIAL

    def finished(self, execution: PlaybookExecution) -> None:
        """The reverted execution says how its revert ended: done or partly."""
        if execution.dry_run or self.target is None:
            return
        if execution.state in (ExecutionState.DONE, ExecutionState.PARTIAL):
            PlaybookExecution.objects.filter(
                pk=self.target.pk, revert_state=ExecutionState.RUNNING
            ).update(revert_state=execution.state)

    def _restore_all(self, run: Run, target: PlaybookExecution) -> None:
        snapshots = list(target.snapshots.order_by("-taken_at", "-id"))
        step = run.step("restore", candidates=len(snapshots))
        for position, snapshot in enumerate(snapshots, start=1):
            run.progress(f"Restoring {snapshot}", step=position)
            if not step.has_room:
                left = snapshots[position - 1 :]
                step.leave([str(s) for s in left], total=len(left))
                break
            self._restore(run, step, snapshot, target)

    def _restore(
        self, run: Run, step: StepReport, snapshot: Snapshot, target: PlaybookExecution
    ) -> None:
        model = apps.get_model(snapshot.model_label)
        row = model._default_manager.filter(pk=snapshot.object_pk).first()
        restorer = restorer_for(snapshot.model_label)
        created = snapshot.operation == SnapshotOperation.CREATE
        label = f"{snapshot.model_label}#{snapshot.object_pk}"
        what = f"{'Undo the creation of' if created else 'Restore'} {label}"
        why = f"Revert of execution #{target.pk} ({target.playbook})."
        note = f"revert of self-heal execution #{target.pk}, by {run.actor}"
        if row is None:
            run.skip(step, what, why, label, "the row no longer exists")
            self._mark(run, snapshot, RestoreStatus.SKIPPED, "the row no longer exists")
            return
        if created:
            apply = restorer.undo_create
            planned = restorer.undo_create_planned
        else:
            apply = restorer.restore
            planned = {k: v for k, v in (snapshot.before or {}).items() if k != "updated_at"}
        ok = run.change(
            step,
            target=row,
            what=what,
            why=why,
            apply=lambda: apply(snapshot, note),
            planned=planned,
            guard=lambda locked: _unchanged_since(snapshot, locked),
        )
        if ok:
            self._mark(run, snapshot, RestoreStatus.RESTORED, "")
        else:
            self._mark(run, snapshot, RestoreStatus.SKIPPED, step.skipped[-1]["reason"])

    def _mark(self, run: Run, snapshot: Snapshot, status: RestoreStatus, note: str) -> None:
        if run.dry_run:
            return
        snapshot.restore_status = status
        snapshot.restore_note = note
        snapshot.restored_at = timezone.now()
        snapshot.save(update_fields=["restore_status", "restore_note", "restored_at"])

    def summarize(self, run: Run) -> str:
        step = run.steps.get("restore")
        if step is None:
            return "Nothing to revert."
        done = len(step.planned if run.dry_run else step.applied)
        verb = "Would restore" if run.dry_run else "Restored"
        text = f"{verb} {done} of {step.candidates} row(s) of execution #{run.outcome['target']}."
        if done == 0 and step.candidates and not run.dry_run:
            # Not one row came back: the reasons follow, and nothing calls this "partly".
            text = f"Nothing restored: {text}"
        elif done < step.candidates and not run.dry_run:
            text = f"Partly reverted: {text}"
        if step.skipped:
            left = "; ".join(f"{item['target']} ({item['reason']})" for item in step.skipped)
            text += f" Left as they are: {left}."
        if step.left_count:
            text += (
                f" Not reached ({step.left_count}, past the bound of {step.bound}): "
                f"{', '.join(step.left[:5])}{', …' if step.left_count > 5 else ''}."
            )
        return text


def _unchanged_since(snapshot: Snapshot, row: Any) -> None:
    moved = changed_fields(snapshot.after or {}, serialize_row(row))
    if moved:
        raise SkipRow(f"changed since: {', '.join(moved)}")
