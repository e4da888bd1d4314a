"""Self-heal's rows: playbook executions, their findings and actions, snapshots, rules.

An execution is its own audit trail: the findings it saw, each action it took or planned
(what, why, before, after, the bound it ran under, who triggered it) and a snapshot of every
row it changed, taken before the change, from which `revert` puts the rows back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone


class Severity(models.TextChoices):
    OK = "ok", "OK"
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.OK: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK[Severity(severity)]


def worst_severity(severities: list[str]) -> Severity:
    if not severities:
        return Severity.OK
    return Severity(max(severities, key=severity_rank))


class ExecutionState(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    # Ended without doing all it set out to: a revert that left rows as they were.
    PARTIAL = "partial", "Partly done"
    FAILED = "failed", "Failed"


class FindingPhase(models.TextChoices):
    CHECK = "check", "Diagnosis"
    VERIFY = "verify", "Verification after repair"


class ActionStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    PLANNED = "planned", "Planned (dry run)"
    SKIPPED = "skipped", "Skipped"


class SnapshotOperation(models.TextChoices):
    UPDATE = "update", "Row changed"
    CREATE = "create", "Row created"


class RestoreStatus(models.TextChoices):
    NONE = "", "Not reverted"
    RESTORED = "restored", "Restored"
    SKIPPED = "skipped", "Left as it is"


class AutoHealRuleQuerySet(models.QuerySet["AutoHealRule"]):
    def with_recent_runs(self, now: datetime) -> AutoHealRuleQuerySet:
        """Each rule with what its limits read: `last_run_at` (when its newest execution
        started, or None) and `runs_last_hour` (executions it started since an hour before
        `now`). Subqueries on the (rule, started_at) index, in the rules' one query, so a
        page of rules costs one query however many there are."""
        mine = PlaybookExecution.objects.filter(rule=OuterRef("pk")).order_by()
        recent = (
            mine.filter(started_at__gte=now - timedelta(hours=1))
            .values("rule")
            .annotate(runs=Count("id"))
            .values("runs")
        )
        return self.annotate(
            last_run_at=Subquery(mine.order_by("-started_at").values("started_at")[:1]),
            runs_last_hour=Coalesce(Subquery(recent), 0),
        )


class AutoHealRule(models.Model):
    """When a check reports at least this severity, run this playbook, within limits."""

    name = models.CharField(max_length=100, unique=True)
    check_name = models.CharField(max_length=50, help_text="The check whose finding triggers.")
    min_severity = models.CharField(
        max_length=10,
        choices=[(s.value, s.label) for s in Severity if s != Severity.OK],
        default=Severity.WARNING,
    )
    playbook = models.CharField(max_length=50, default="repair")
    dry_run = models.BooleanField(default=False, help_text="Only plan: show what would change.")
    cooldown_minutes = models.PositiveIntegerField(
        default=30, help_text="No second run of this rule sooner than this."
    )
    max_runs_per_hour = models.PositiveIntegerField(default=2)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AutoHealRuleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.check_name} ≥ {self.min_severity} → {self.playbook}"

    def clean(self) -> None:
        # Checks and playbooks register at start-up; the registries are imported late so
        # that this module stays the bottom of the app.
        from selfheal.checks import check_names
        from selfheal.playbooks import AUTOHEAL_PLAYBOOKS

        errors = {}
        if self.check_name not in check_names():
            errors["check_name"] = f"Unknown check; one of: {', '.join(check_names())}."
        if self.playbook not in AUTOHEAL_PLAYBOOKS:
            errors["playbook"] = f"Auto-heal runs one of: {', '.join(AUTOHEAL_PLAYBOOKS)}."
        if errors:
            raise ValidationError(errors)

    def matches(self, *, check: str, severity: str) -> bool:
        return (
            self.enabled
            and check == self.check_name
            and severity_rank(severity) >= severity_rank(self.min_severity)
        )


class PlaybookExecutionQuerySet(models.QuerySet["PlaybookExecution"]):
    def running(self) -> PlaybookExecutionQuerySet:
        return self.filter(state=ExecutionState.RUNNING)

    def for_history(self) -> PlaybookExecutionQuerySet:
        return self.select_related("rule").defer("outcome", "bounds").with_restore_facts()

    def with_restore_facts(self) -> PlaybookExecutionQuerySet:
        """What a row's labels read, in two small subqueries: whether a revert changed any
        row, and whether any row of a reverted execution came back."""
        return self.annotate(
            changed_any=models.Exists(
                RepairAction.objects.filter(execution=OuterRef("pk"), status=ActionStatus.APPLIED)
            ),
            restored_any=models.Exists(
                Snapshot.objects.filter(
                    execution=OuterRef("pk"), restore_status=RestoreStatus.RESTORED
                )
            ),
        )

    def abandoned(self, *, playbook: str, now: datetime, after: timedelta) -> int:
        """Close runs whose process died: silent for longer than `after`. Returns how many."""
        return self.filter(
            playbook=playbook, state=ExecutionState.RUNNING, heartbeat_at__lt=now - after
        ).update(
            state=ExecutionState.FAILED,
            finished_at=now,
            error=f"abandoned: no progress for {int(after.total_seconds())}s",
        )


class PlaybookExecution(models.Model):
    playbook = models.CharField(max_length=50)
    dry_run = models.BooleanField(default=False)
    state = models.CharField(
        max_length=10, choices=ExecutionState.choices, default=ExecutionState.RUNNING
    )
    triggered_by = models.CharField(
        max_length=150, help_text="user:NAME, rule:NAME, schedule:NAME, cli:COMMAND, chat:..."
    )
    reason = models.TextField(blank=True)
    rule = models.ForeignKey(
        AutoHealRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="executions"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    target = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reverts",
        help_text="For a revert: the execution it puts back.",
    )
    bounds = models.JSONField(default=dict, blank=True, help_text="Each step's bound, from code.")
    budget = models.JSONField(
        default=dict,
        blank=True,
        help_text="What each bound had left in its window when this run began: the window, "
        "and per step the rows changed in it before, what was left, when room comes back.",
    )
    budget_spent = models.BooleanField(
        default=False,
        help_text="A step left candidates because its bound's window was used up.",
    )
    progress = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    outcome = models.JSONField(default=dict, blank=True)
    worst_severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    reverted_at = models.DateTimeField(null=True, blank=True)
    revert_state = models.CharField(
        max_length=10,
        choices=ExecutionState.choices,
        blank=True,
        help_text="How the revert of this execution ended: done (every row restored), "
        "partial (some left as they were), running; empty when never reverted.",
    )

    objects = PlaybookExecutionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        # Granted in the admin, to a group or a user (docs/security.md).
        permissions = [
            ("run_repair", "Can run self-heal repairs and auto-heal"),
            ("revert_execution", "Can revert self-heal executions"),
        ]
        constraints = [
            # The lock: a second run of a playbook cannot even be inserted while one runs.
            models.UniqueConstraint(
                fields=["playbook"],
                condition=Q(state="running"),
                name="selfheal_one_running_per_playbook",
            ),
        ]
        indexes = [models.Index(fields=["rule", "started_at"], name="selfheal_exec_rule_idx")]

    def __str__(self) -> str:
        mode = " (dry run)" if self.dry_run else ""
        return f"#{self.pk} {self.playbook}{mode} {self.state}"

    @property
    def duration_ms(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000

    @property
    def restored_nothing(self) -> bool:
        """A revert that ended partial having restored no row at all: not "partly done"."""
        if self.playbook != "revert" or self.state != ExecutionState.PARTIAL:
            return False
        changed = getattr(self, "changed_any", None)  # from for_history(), else one query
        if changed is None:
            changed = self.actions.filter(status=ActionStatus.APPLIED).exists()
        return not changed

    @property
    def revert_restored_nothing(self) -> bool:
        """This execution's revert ended partial without bringing back one of its rows."""
        if self.revert_state != ExecutionState.PARTIAL:
            return False
        restored = getattr(self, "restored_any", None)
        if restored is None:
            restored = self.snapshots.filter(restore_status=RestoreStatus.RESTORED).exists()
        return not restored

    @property
    def state_label(self) -> str:
        """The state in words, as the revert left it: "Nothing restored" says more than
        "Partly done" when not one row came back."""
        return "Nothing restored" if self.restored_nothing else str(self.get_state_display())

    @property
    def revertible(self) -> bool:
        return (
            not self.dry_run
            and self.playbook != "revert"
            and self.state != ExecutionState.RUNNING
            and self.reverted_at is None
            and self.snapshots.exists()
        )


class Finding(models.Model):
    execution = models.ForeignKey(
        PlaybookExecution, on_delete=models.CASCADE, related_name="findings"
    )
    phase = models.CharField(
        max_length=10, choices=FindingPhase.choices, default=FindingPhase.CHECK
    )
    position = models.PositiveSmallIntegerField(default=0)
    check_name = models.CharField(max_length=50)
    title = models.CharField(max_length=100)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    message = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    suggestion = models.TextField(blank=True)
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["execution", "phase", "position"]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.severity} {self.message}"


class RepairActionQuerySet(models.QuerySet["RepairAction"]):
    def applied_per_step(
        self, *, playbook: str, since: datetime, exclude_execution: int | None = None
    ) -> dict[str, tuple[int, datetime]]:
        """Rows a playbook changed since a moment, per step: how many, and when the oldest
        of them changed (the bound's room comes back as it leaves the window). Dry runs
        change nothing and do not count."""
        applied = self.filter(
            execution__playbook=playbook,
            execution__dry_run=False,
            status=ActionStatus.APPLIED,
            created_at__gte=since,
        )
        if exclude_execution is not None:
            applied = applied.exclude(execution_id=exclude_execution)
        rows = (
            applied.order_by().values_list("step").annotate(n=Count("id"), oldest=Min("created_at"))
        )
        return {step: (n, oldest) for step, n, oldest in rows}


class RepairAction(models.Model):
    """One change a playbook made (or, in a dry run, would make): the audit row."""

    execution = models.ForeignKey(
        PlaybookExecution, on_delete=models.CASCADE, related_name="actions"
    )
    step = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=ActionStatus.choices)
    what = models.CharField(max_length=200)
    why = models.TextField(blank=True)
    target = models.CharField(max_length=100, help_text="model label#pk")
    before = models.JSONField(null=True, blank=True, help_text="Changed fields, before.")
    after = models.JSONField(null=True, blank=True, help_text="Changed fields, after.")
    bound = models.PositiveIntegerField(help_text="The step's bound when this ran.")
    actor = models.CharField(max_length=150, help_text="Who or what triggered the execution.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = RepairActionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.step} {self.status}: {self.what} ({self.target})"

    @property
    def target_task_id(self) -> int | None:
        """The engine task this action changed, when its target is one (to link to it)."""
        label, _, pk = self.target.partition("#")
        return int(pk) if label == "engine.task" and pk.isdigit() else None


class Snapshot(models.Model):
    """A whole row as it stood before an action changed it, and as the action left it."""

    execution = models.ForeignKey(
        PlaybookExecution, on_delete=models.CASCADE, related_name="snapshots"
    )
    action = models.OneToOneField(
        RepairAction, null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshot"
    )
    model_label = models.CharField(max_length=100)
    object_pk = models.CharField(max_length=64)
    operation = models.CharField(max_length=10, choices=SnapshotOperation.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    taken_at = models.DateTimeField(default=timezone.now)
    restore_status = models.CharField(
        max_length=10, choices=RestoreStatus.choices, default=RestoreStatus.NONE, blank=True
    )
    restore_note = models.TextField(blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["taken_at", "id"]

    def __str__(self) -> str:
        return f"{self.model_label}#{self.object_pk} ({self.operation})"
