"""The engine's rows: tasks and their history, workers, API tokens.

Only `engine.services` changes a task's state; every change is one `TaskEvent` row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from config.validators import refuse_control_characters
from engine.permissions import DECIDE_OTHERS_TASKS, has_permission


class TaskState(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    BLOCKED = "blocked", "Blocked"
    WAITING_APPROVAL = "waiting_approval", "Waiting for approval"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


UNFINISHED_STATES = (
    TaskState.PENDING,
    TaskState.RUNNING,
    TaskState.BLOCKED,
    TaskState.WAITING_APPROVAL,
)
FINISHED_STATES = (TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED)


class TaskSource(models.TextChoices):
    USER = "user", "User"
    CHAT = "chat", "Chat"
    SELFHEAL = "selfheal", "Self-heal"
    LOGCRAWLER = "logcrawler", "Log crawler"
    CODEHEALTH = "codehealth", "Code health"
    ENGINE = "engine", "Engine"


class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class WorkerState(models.TextChoices):
    ONLINE = "online", "Online"
    DRAINING = "draining", "Draining"
    OFFLINE = "offline", "Offline"


def hash_token(raw: str) -> str:
    """Tokens are long random strings, so a fast unsalted digest is enough to store them."""
    return hashlib.sha256(raw.encode()).hexdigest()


# What a person may ask of a task (the API and the pages hold to the same bounds).
PRIORITY_RANGE = (-1000, 1000)
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
MAX_ATTEMPTS = 100


class WorkerQuerySet(models.QuerySet["Worker"]):
    def online(self) -> WorkerQuerySet:
        return self.filter(state=WorkerState.ONLINE)

    def online_first(self) -> WorkerQuerySet:
        """Online, then draining, then offline workers, each by name."""
        rank = models.Case(
            models.When(state=WorkerState.ONLINE, then=0),
            models.When(state=WorkerState.DRAINING, then=1),
            default=2,
        )
        return self.order_by(rank, "name")

    def with_running_count(self) -> WorkerQuerySet:
        """Each worker with `running_count`, the tasks it holds a lease on, in one query."""
        return self.annotate(
            running_count=models.Count(
                "leased_tasks", filter=Q(leased_tasks__state=TaskState.RUNNING)
            )
        )


class Worker(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[refuse_control_characters])
    capabilities = models.JSONField(default=list, help_text="Task kinds this worker can run.")
    max_concurrency = models.PositiveIntegerField(default=1)
    state = models.CharField(
        max_length=16, choices=WorkerState.choices, default=WorkerState.ONLINE, db_index=True
    )
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    builtin = models.BooleanField(default=False, help_text="Runs in-process against the database.")
    shared = models.BooleanField(
        default=False, help_text="Claims everyone's tasks; otherwise only its owner's."
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def claims_for_everyone(self) -> bool:
        """Built-in and shared workers claim any task; any other only its owner's
        (`TaskRouter.claim`, docs/security.md "Who may claim what")."""
        return self.builtin or self.shared

    def heartbeat_age(self, now: datetime | None = None) -> timedelta | None:
        if self.last_heartbeat_at is None:
            return None
        return (now or timezone.now()) - self.last_heartbeat_at


ESTIMATE_FINISHED_ABOVE = 200_000


@dataclass(frozen=True)
class StateCounts:
    counts: dict[str, int]
    estimated: frozenset[str]  # states whose count is the planner's estimate


_FINISHED_ESTIMATE_SQL = """
    SELECT c.reltuples::bigint, s.most_common_vals::text::text[], s.most_common_freqs
    FROM pg_class c
    LEFT JOIN pg_stats s
      ON s.schemaname = current_schema() AND s.tablename = c.relname AND s.attname = 'state'
    WHERE c.oid = 'engine_task'::regclass
"""


def _finished_state_estimate(exact_up_to: int) -> dict[str, int] | None:
    """Estimated counts of the finished states, or None when the table is small (or never
    analysed) and exact counting is cheap."""
    with connection.cursor() as cursor:
        cursor.execute(_FINISHED_ESTIMATE_SQL)
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] <= exact_up_to or not row[1]:
        return None
    total, values, freqs = row
    frequency = dict(zip(values, freqs, strict=True))
    return {
        state.value: round(total * frequency.get(state.value, 0.0)) for state in FINISHED_STATES
    }


class TaskQuerySet(models.QuerySet["Task"]):
    def unfinished(self) -> TaskQuerySet:
        return self.filter(state__in=UNFINISHED_STATES)

    def claimable(
        self, kinds: list[str], now: datetime, *, created_by_id: int | None = None
    ) -> TaskQuerySet:
        """Pending tasks of these kinds whose backoff has passed, most urgent first; with
        `created_by_id`, only that user's."""
        tasks = self.filter(state=TaskState.PENDING, kind__in=kinds, run_after__lte=now)
        if created_by_id is not None:
            tasks = tasks.filter(created_by_id=created_by_id)
        return tasks.order_by("-priority", "created_at", "id")

    def counts_by_state(self) -> dict[str, int]:
        """Exact counts of every state: one GROUP BY over the whole table."""
        counts = {state.value: 0 for state in TaskState}
        # COUNT(*), not COUNT(id): PostgreSQL answers it from the state index alone.
        rows = self.order_by().values_list("state").annotate(n=models.Count("*"))
        for state, n in rows:
            counts[state] = n
        return counts

    def dashboard_counts(self, *, exact_up_to: int = ESTIMATE_FINISHED_ABOVE) -> StateCounts:
        """Counts for a page that refreshes every few seconds.

        Live states are always exact (they are what an operator acts on, and few). On a
        large PostgreSQL table the finished states, which only grow, are estimated from the
        planner's statistics instead of counted: a full count of a million rows costs tens
        of milliseconds on every refresh, the estimate costs none.
        """
        estimate = (
            _finished_state_estimate(exact_up_to) if connection.vendor == "postgresql" else None
        )
        if estimate is None:
            return StateCounts(self.counts_by_state(), estimated=frozenset())
        counts = {state.value: 0 for state in TaskState}
        live = self.unfinished().order_by().values_list("state").annotate(n=models.Count("*"))
        counts.update(dict(live))
        counts.update(estimate)
        return StateCounts(counts, estimated=frozenset(estimate))

    def visible_to(self, user: Any) -> TaskQuerySet:
        """What a person may see: everything for staff and for those who may decide other
        people's tasks; for others, everything but other people's chat tasks, whose titles
        and approval requests quote their conversations."""
        if getattr(user, "is_staff", False) or has_permission(user, DECIDE_OTHERS_TASKS):
            return self
        return self.exclude(Q(source=TaskSource.CHAT) & ~Q(created_by_id=user.pk))

    def oldest_pending(self) -> Task | None:
        return self.filter(state=TaskState.PENDING).order_by("created_at").first()

    def awaiting_approval(self) -> TaskQuerySet:
        return self.filter(state=TaskState.WAITING_APPROVAL).order_by("approval_requested_at", "id")

    def lease_expired(self, now: datetime) -> TaskQuerySet:
        return self.filter(state=TaskState.RUNNING, lease_expires_at__lt=now)

    def for_listing(self) -> TaskQuerySet:
        """Rows for a list of tasks: the lease worker joined, the large fields left behind."""
        return self.select_related("lease_worker").defer(
            "payload", "result", "last_error", "approval_reason"
        )

    def older_than(self, created_at: datetime, pk: int) -> TaskQuerySet:
        """Tasks before this position in the newest-first order (keyset pagination)."""
        return self.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))

    def newer_than(self, created_at: datetime, pk: int) -> TaskQuerySet:
        return self.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk))


class Task(models.Model):
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=100, help_text="The capability a worker needs.")
    payload = models.JSONField(default=dict, blank=True)
    priority = models.IntegerField(default=50, help_text="Higher runs first.")
    state = models.CharField(
        max_length=20, choices=TaskState.choices, default=TaskState.PENDING, db_index=True
    )
    # NULL, not "", for "no key": the partial unique constraint ignores NULLs.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001

    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    timeout_seconds = models.PositiveIntegerField(default=300)
    run_after = models.DateTimeField(default=timezone.now, help_text="Not claimable before.")

    lease_worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="leased_tasks"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="Start of this attempt.")

    result = models.JSONField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    approval_reason = models.TextField(blank=True)
    approval_requested_at = models.DateTimeField(null=True, blank=True)
    approval_decision = models.CharField(
        max_length=16, choices=ApprovalDecision.choices, blank=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decided_tasks",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    dangerous = models.BooleanField(
        default=False,
        help_text="An ops task or a dangerous tool call: approving it needs "
        "engine.approve_dangerous_task, and with FOUR_EYES someone other than its creator.",
    )
    source = models.CharField(max_length=20, choices=TaskSource.choices, default=TaskSource.USER)
    source_ref = models.CharField(max_length=200, blank=True, help_text="e.g. a chat session id.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_tasks",
    )
    blocked_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="blocking"
    )

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            (
                "decide_others_task",
                "Can cancel, retry, approve or reject tasks other people or the system created",
            ),
            (
                "approve_dangerous_task",
                "Can approve dangerous tasks: ops tasks and dangerous tool calls",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(
                    dedupe_key__isnull=False,
                    state__in=["pending", "running", "blocked", "waiting_approval"],
                ),
                name="task_dedupe_key_unfinished_uniq",
            ),
        ]
        indexes = [
            # The claim: pending tasks of a kind, most urgent and oldest first.
            models.Index(
                fields=["kind", "-priority", "created_at"],
                condition=Q(state="pending"),
                name="task_claim_idx",
            ),
            # A worker with several kinds: one ordered walk instead of sorting every match.
            models.Index(
                fields=["-priority", "created_at", "id"],
                condition=Q(state="pending"),
                name="task_claim_any_kind_idx",
            ),
            # Completion rates: done and failed tasks by when they finished.
            models.Index(
                fields=["state", "finished_at"],
                condition=Q(finished_at__isnull=False),
                name="task_state_finished_idx",
            ),
            models.Index(
                fields=["created_at"], condition=Q(state="pending"), name="task_pending_age_idx"
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(state="running"),
                name="task_running_lease_idx",
            ),
            models.Index(
                fields=["approval_requested_at"],
                condition=Q(state="waiting_approval"),
                name="task_approval_idx",
            ),
            models.Index(fields=["created_at", "id"], name="task_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES

    def timed_out(self, now: datetime) -> bool:
        if self.state != TaskState.RUNNING or self.started_at is None:
            return False
        return now - self.started_at > timedelta(seconds=self.timeout_seconds)


class TaskEvent(models.Model):
    """One change of a task's state: the task's history and the audit trail."""

    # No index of its own: taskevent_task_idx (task, created_at) serves lookups by task, and
    # every claim and completion writes a row here.
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events", db_index=False)
    from_state = models.CharField(max_length=20, choices=TaskState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=TaskState.choices)
    actor = models.CharField(max_length=150, help_text="user:NAME, worker:NAME or system:RULE")
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="taskevent_task_idx")]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.from_state or '∅'} → {self.to_state} by {self.actor}"


class ApiToken(models.Model):
    """A user's API token. Only the digest is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="To recognise a token.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.pk, "name": self.name, "prefix": self.prefix}


class JobLock(models.Model):
    """A named lease that keeps a periodic job from overlapping itself across processes."""

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at:%H:%M:%S}"
