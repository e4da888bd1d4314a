"""Chat's rows: sessions, their messages, one row per tool execution, and the event log.

A session's `last_seq` is the seq of its newest stored event; events take their seq under a
lock on the session row, so seqs are strictly increasing per session with no holes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from chat.events import OPS_NOTICE
from routing.models import AT_LEAST_ONE, NOT_NEGATIVE, Mode, money_field

Envelope = dict[str, Any]

ZERO = Decimal("0")


class SessionState(models.TextChoices):
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued for a worker"
    THINKING = "thinking", "Thinking"
    RUNNING_TOOL = "running_tool", "Running a tool"
    AWAITING_APPROVAL = "awaiting_approval", "Waiting for approval"
    STOPPED = "stopped", "Stopped"
    ERROR = "error", "Error"


ACTIVE_STATES = (SessionState.QUEUED, SessionState.THINKING, SessionState.RUNNING_TOOL)


class ChatSessionQuerySet(models.QuerySet["ChatSession"]):
    def visible_to(self, user: Any) -> ChatSessionQuerySet:
        """A person sees their own sessions; staff see everyone's."""
        if getattr(user, "is_staff", False):
            return self
        return self.filter(owner_id=getattr(user, "pk", None))

    def for_listing(self) -> ChatSessionQuerySet:
        return self.select_related("owner").order_by("-updated_at", "-id")


class ChatSession(models.Model):
    # NULL for a session the engine started (an "agent" task without one): staff only.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chat_sessions",
    )
    origin_task = models.OneToOneField(
        "engine.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The agent task that started this session, when no person did.",
    )
    title = models.CharField(max_length=200, blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.NORMAL)
    state = models.CharField(
        max_length=20, choices=SessionState.choices, default=SessionState.IDLE, db_index=True
    )
    stop_reason = models.CharField(max_length=30, blank=True, help_text="A StopReason value.")
    stop_detail = models.TextField(blank=True)
    # The Stop control: the loop polls it every ~100 ms, during a tool or a stream too.
    stop_requested = models.BooleanField(default=False)
    current_task = models.ForeignKey(
        "engine.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_seq = models.PositiveBigIntegerField(default=0)

    # Per-session overrides of the mode's limits; NULL means "the mode's policy decides".
    max_steps = models.PositiveIntegerField(null=True, blank=True, validators=[AT_LEAST_ONE])
    max_seconds = models.PositiveIntegerField(null=True, blank=True, validators=[AT_LEAST_ONE])
    max_retries = models.PositiveIntegerField(null=True, blank=True)
    max_cost = money_field(null=True, blank=True, validators=[NOT_NEGATIVE])

    # Use of the current run (a run starts with a user message; Run continues a paused one).
    run_number = models.PositiveIntegerField(default=0)
    steps_used = models.PositiveIntegerField(default=0)
    retries_used = models.PositiveIntegerField(default=0)
    seconds_used = models.FloatField(default=0.0, help_text="Wall time of the run's segments.")
    segment_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the segment now running began."
    )
    cost_used = money_field(default=ZERO, help_text="Spent by the whole session.")
    nudged_rules = models.JSONField(default=list, blank=True, help_text="Nudges of this run.")

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text="Set: left out of the chat page's list unless asked."
    )

    objects = ChatSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="chatsession_owner_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title or 'untitled'}"

    @property
    def ref(self) -> str:
        """How routing's ledger names this session."""
        return f"chat:{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class MessageRole(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"
    TOOL = "tool", "Tool"
    SYSTEM = "system", "System"


class ChatMessage(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    run = models.PositiveIntegerField(default=0)
    role = models.CharField(max_length=10, choices=MessageRole.choices)
    content = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list, blank=True, help_text="OpenAI-style calls.")
    tool_call_id = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=100, blank=True, help_text="The tool, for results.")
    model = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = money_field(default=ZERO)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "id"], name="chatmessage_session_idx")]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.pk} {self.role}"

    def as_model_message(self) -> dict[str, Any]:
        """The message as the model is shown it (OpenAI chat format)."""
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.role == MessageRole.ASSISTANT and self.tool_calls:
            message["tool_calls"] = self.tool_calls
        if self.role == MessageRole.TOOL:
            message["tool_call_id"] = self.tool_call_id
            message["name"] = self.name
        return message


class ExecutionState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"


class ToolExecution(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="executions")
    run = models.PositiveIntegerField(default=0)
    step = models.PositiveIntegerField(default=0)
    call_id = models.CharField(max_length=200)
    tool = models.CharField(max_length=100)
    arguments = models.JSONField(default=dict, blank=True, help_text="Validated, redacted.")
    arguments_digest = models.CharField(max_length=64, blank=True)
    permission = models.CharField(max_length=10, blank=True)
    state = models.CharField(
        max_length=20, choices=ExecutionState.choices, default=ExecutionState.RUNNING
    )
    result_summary = models.CharField(max_length=500, blank=True)
    output = models.TextField(blank=True, help_text="Capped and redacted.")
    output_digest = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    retry_number = models.PositiveIntegerField(default=0)
    approval_task = models.ForeignKey(
        "engine.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "run", "id"], name="toolexec_session_run_idx")]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.pk} {self.tool} {self.state}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "run": self.run,
            "step": self.step,
            "tool": self.tool,
            "arguments": self.arguments,
            "permission": self.permission,
            "state": self.state,
            "summary": self.result_summary,
            "output": self.output,
            "error": self.error,
            "retry_number": self.retry_number,
            "approval_task": self.approval_task_id,
            "duration_ms": self.duration_ms,
            "started_at": self.started_at.isoformat(),
        }


class ChatEventQuerySet(models.QuerySet["ChatEvent"]):
    def after(self, session_id: int, seq: int) -> ChatEventQuerySet:
        return self.filter(session_id=session_id, seq__gt=seq).order_by("seq")

    def relayed_after(self, event_id: int, limit: int) -> list[tuple[int, int | None, Envelope]]:
        """(id, session owner, envelope) of the events after `event_id`, in id order: what the
        database relay sends. Read as tuples, not models: three times quicker at 100 rows,
        and the relay reads while Daphne's event loop waits for the GIL."""
        rows = (
            self.filter(id__gt=event_id)
            .order_by("id")
            .values_list(
                "id", "seq", "session_id", "type", "created_at", "data", "session__owner_id"
            )[:limit]
        )
        return [
            (pk, owner_id, event_envelope(seq, session_id, event_type, created_at, data))
            for pk, seq, session_id, event_type, created_at, data, owner_id in rows
        ]


def event_envelope(
    seq: int, session_id: int, event_type: str, created_at: datetime, data: Any
) -> Envelope:
    return {
        "v": 1,
        "seq": seq,
        "session": session_id,
        "type": event_type,
        "ts": created_at.isoformat(),
        "data": data,
    }


class ChatEvent(models.Model):
    """One stream event, stored before it is sent: the replay source for reconnects."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ChatEventQuerySet.as_manager()

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="chatevent_session_seq_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.session_id}#{self.seq} {self.type}"

    def envelope(self) -> Envelope:
        return event_envelope(self.seq, self.session_id, self.type, self.created_at, self.data)


class OpsNotice(models.Model):
    """An operator notice kept briefly for the database relay: with the in-memory channel
    layer a notice sent in a worker must reach the Daphne processes through the database.
    Rows older than an hour are deleted when a new one is stored; nothing replays them."""

    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"notice {self.pk} {self.kind}"

    def envelope(self) -> dict[str, Any]:
        return {
            "v": 1,
            "seq": None,
            "session": None,
            "type": OPS_NOTICE,
            "ts": self.created_at.isoformat(),
            "data": {"kind": self.kind, **self.data},
        }
