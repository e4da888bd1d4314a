"""What the API reads and writes. Input serializers validate; the services do the work."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from config.api.fields import (
    EnumChoiceField,
    JSONObjectField,
    StorableJSONField,
)
from config.validators import refuse_control_characters
from engine.models import (
    MAX_ATTEMPTS,
    MAX_TIMEOUT_SECONDS,
    PRIORITY_RANGE,
    ApprovalDecision,
    Task,
    TaskEvent,
    TaskSource,
    TaskState,
    Worker,
    WorkerState,
)

MAX_NOTE_LENGTH = 2000
MAX_ERROR_LENGTH = 20000
MAX_WORKER_CONCURRENCY = 1000
MAX_CAPABILITIES = 200
MAX_ID = 2**63 - 1

# A field named `source` trips mypy (`Field.source`); the serializer metaclass pops declared
# fields from the class, so at run time nothing is shadowed.


def note_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=MAX_NOTE_LENGTH, required=False, allow_blank=True, default=""
    )


# --- Tasks ------------------------------------------------------------------------------


class TaskEventSerializer(serializers.ModelSerializer[TaskEvent]):
    from_state = EnumChoiceField(
        TaskState, read_only=True, allow_blank=True, help_text="Empty on the creation row."
    )
    to_state = EnumChoiceField(TaskState, read_only=True)

    class Meta:
        model = TaskEvent
        fields = ["id", "from_state", "to_state", "actor", "note", "data", "created_at"]
        read_only_fields = fields


class TaskSerializer(serializers.ModelSerializer[Task]):
    state = EnumChoiceField(TaskState, read_only=True)
    source = EnumChoiceField(TaskSource, read_only=True)  # type: ignore[assignment]
    approval_decision = EnumChoiceField(ApprovalDecision, read_only=True, allow_blank=True)
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    decided_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "kind",
            "payload",
            "priority",
            "state",
            "dedupe_key",
            "attempts",
            "max_attempts",
            "timeout_seconds",
            "run_after",
            "source",
            "source_ref",
            "created_by",
            "blocked_by",
            "lease_worker",
            "lease_expires_at",
            "started_at",
            "result",
            "last_error",
            "approval_reason",
            "approval_requested_at",
            "approval_decision",
            "decided_by",
            "decided_at",
            "created_at",
            "updated_at",
            "finished_at",
        ]
        read_only_fields = fields


class TaskDetailSerializer(TaskSerializer):
    history = TaskEventSerializer(source="events", many=True, read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "history"]
        read_only_fields = fields


class TaskCreateSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    kind = serializers.CharField(max_length=100, help_text="The capability a worker needs.")
    payload = JSONObjectField(required=False, default=dict)
    priority = serializers.IntegerField(
        min_value=PRIORITY_RANGE[0],
        max_value=PRIORITY_RANGE[1],
        default=50,
        help_text="Higher runs first.",
    )
    dedupe_key = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        help_text="While an unfinished task has this key, creating another returns that one.",
    )
    max_attempts = serializers.IntegerField(min_value=1, max_value=MAX_ATTEMPTS, default=3)
    timeout_seconds = serializers.IntegerField(
        min_value=1, max_value=MAX_TIMEOUT_SECONDS, default=300
    )
    blocked_by = serializers.PrimaryKeyRelatedField(
        queryset=Task.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Id of a task that must be done before this one runs.",
    )


class TaskFilterSerializer(serializers.Serializer[Any]):
    """Query parameters of the task list."""

    state = EnumChoiceField(TaskState, required=False)
    kind = serializers.CharField(max_length=100, required=False)
    source = EnumChoiceField(TaskSource, required=False)  # type: ignore[assignment]
    worker = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Id of the worker holding it."
    )

    def lookups(self) -> dict[str, Any]:
        names = {"state": "state", "kind": "kind", "source": "source", "worker": "lease_worker"}
        return {names[key]: value for key, value in self.validated_data.items()}


class ApproveSerializer(serializers.Serializer[Any]):
    reroute_kind = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Run it as this kind of work instead.",
    )
    note = note_field()


class NoteSerializer(serializers.Serializer[Any]):
    note = note_field()


# --- Workers ----------------------------------------------------------------------------


class WorkerSerializer(serializers.ModelSerializer[Worker]):
    state = EnumChoiceField(WorkerState, read_only=True)

    class Meta:
        model = Worker
        fields = [
            "id",
            "name",
            "capabilities",
            "max_concurrency",
            "state",
            "last_heartbeat_at",
            "builtin",
            "shared",
            "created_at",
        ]
        read_only_fields = fields


class WorkerRegisterSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, validators=[refuse_control_characters])
    capabilities = serializers.ListField(
        child=serializers.CharField(max_length=100),
        allow_empty=False,
        min_length=1,
        max_length=MAX_CAPABILITIES,
        help_text="Task kinds this worker can run.",
    )
    max_concurrency = serializers.IntegerField(
        min_value=1, max_value=MAX_WORKER_CONCURRENCY, default=1
    )
    shared = serializers.BooleanField(
        required=False,
        help_text="Claims everyone's tasks, not only yours (needs engine.change_worker); "
        "left out, a re-registered worker keeps its setting.",
    )


class RegisteredWorkerSerializer(serializers.Serializer[Any]):
    worker = WorkerSerializer(read_only=True)
    token = serializers.CharField(read_only=True, help_text="Shown only now; store it.")
    created = serializers.BooleanField(
        read_only=True, help_text="False when an existing worker of this name got a new token."
    )


class HeartbeatSerializer(serializers.Serializer[Any]):
    worker_state = EnumChoiceField(WorkerState, read_only=True)
    leases_extended = serializers.IntegerField(read_only=True)
    lease_expires_at = serializers.DateTimeField(read_only=True)


class CompleteSerializer(serializers.Serializer[Any]):
    result = StorableJSONField(required=False, allow_null=True, default=None)


class FailSerializer(serializers.Serializer[Any]):
    error = serializers.CharField(max_length=MAX_ERROR_LENGTH)
    retryable = serializers.BooleanField(
        default=True, help_text="False fails the task for good, whatever attempts remain."
    )
