"""An execution as JSON, one shape for the API, the commands, the page and chat's tools;
and the inputs the API accepts."""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from selfheal.models import (
    ActionStatus,
    AutoHealRule,
    ExecutionState,
    Finding,
    FindingPhase,
    PlaybookExecution,
    RepairAction,
    RestoreStatus,
    Severity,
    Snapshot,
    SnapshotOperation,
)

MAX_REASON = 500


def enum_field(choices: type[models.TextChoices], **kwargs: Any) -> serializers.CharField:
    """A read-only string whose values the schema states in words. An OpenAPI enum would be
    hoisted into a component named after the field, and "state" or "severity" clash with
    other apps' fields of those names."""
    values = ", ".join(repr(choice.value) for choice in choices)
    schema = {"type": "string", "description": f"One of {values}."}
    field_class = extend_schema_field(schema)(type("EnumField", (serializers.CharField,), {}))
    field: serializers.CharField = field_class(read_only=True, allow_blank=True, **kwargs)
    return field


class FindingSerializer(serializers.ModelSerializer[Finding]):
    check = serializers.CharField(source="check_name")
    phase = enum_field(FindingPhase)
    severity = enum_field(Severity)

    class Meta:
        model = Finding
        fields = [
            "phase",
            "position",
            "check",
            "title",
            "severity",
            "message",
            "evidence",
            "suggestion",
            "duration_ms",
        ]


class RepairActionSerializer(serializers.ModelSerializer[RepairAction]):
    status = enum_field(ActionStatus)

    class Meta:
        model = RepairAction
        fields = [
            "id",
            "step",
            "status",
            "what",
            "why",
            "target",
            "before",
            "after",
            "bound",
            "actor",
            "created_at",
        ]


class SnapshotSerializer(serializers.ModelSerializer[Snapshot]):
    action: serializers.PrimaryKeyRelatedField[RepairAction] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    operation = enum_field(SnapshotOperation)
    restore_status = enum_field(RestoreStatus)

    class Meta:
        model = Snapshot
        fields = [
            "id",
            "action",
            "model_label",
            "object_pk",
            "operation",
            "before",
            "after",
            "taken_at",
            "restore_status",
            "restore_note",
            "restored_at",
        ]


class ExecutionSerializer(serializers.ModelSerializer[PlaybookExecution]):
    rule: serializers.SlugRelatedField[AutoHealRule] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )
    duration_ms = serializers.FloatField(read_only=True, allow_null=True)
    state = enum_field(ExecutionState)
    worst_severity = enum_field(Severity, help_text="Empty until the execution finishes.")
    revert_state = enum_field(
        ExecutionState,
        help_text="How this execution's revert ended: done, partial (rows left as they "
        "were: the revert's actions and its summary say which and why), running; empty "
        "when never reverted.",
    )

    class Meta:
        model = PlaybookExecution
        fields = [
            "id",
            "playbook",
            "dry_run",
            "state",
            "triggered_by",
            "reason",
            "rule",
            "parent",
            "target",
            "bounds",
            "budget",
            "budget_spent",
            "progress",
            "summary",
            "worst_severity",
            "error",
            "started_at",
            "finished_at",
            "duration_ms",
            "reverted_at",
            "revert_state",
        ]


class ExecutionDetailSerializer(ExecutionSerializer):
    findings = FindingSerializer(many=True, read_only=True)
    actions = RepairActionSerializer(many=True, read_only=True)
    snapshots = SnapshotSerializer(many=True, read_only=True)
    revertible = serializers.BooleanField(read_only=True)

    class Meta(ExecutionSerializer.Meta):
        fields = [
            *ExecutionSerializer.Meta.fields,
            "outcome",
            "revertible",
            "findings",
            "actions",
            "snapshots",
        ]


class ProgressSerializer(serializers.ModelSerializer[PlaybookExecution]):
    state = enum_field(ExecutionState)

    class Meta:
        model = PlaybookExecution
        fields = ["id", "playbook", "dry_run", "state", "triggered_by", "progress", "started_at"]


def execution_detail(execution: PlaybookExecution) -> dict[str, Any]:
    return dict(ExecutionDetailSerializer(execution).data)


# --- inputs ---------------------------------------------------------------------------
class RunRequestSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=MAX_REASON, required=False, allow_blank=True)


class RepairRequestSerializer(RunRequestSerializer):
    dry_run = serializers.BooleanField(required=False, default=False)


class RevertRequestSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField(required=False, default=False)


class ExecutionFilterSerializer(serializers.Serializer[Any]):
    playbook = serializers.CharField(max_length=50, required=False)
    state = serializers.ChoiceField(
        choices=ExecutionState.values, required=False, help_text="running, done, partial or failed"
    )
    dry_run = serializers.BooleanField(required=False, allow_null=True, default=None)

    def lookups(self) -> dict[str, Any]:
        return {key: value for key, value in self.validated_data.items() if value is not None}


# --- outputs that are not rows ------------------------------------------------------------
class RuleDecisionSerializer(serializers.Serializer[Any]):
    rule = serializers.CharField()
    check = serializers.CharField()
    severity = serializers.CharField()
    ran = serializers.BooleanField()
    reason = serializers.CharField()
    execution = serializers.IntegerField(allow_null=True)


class AutoHealReportSerializer(serializers.Serializer[Any]):
    diagnosis = ExecutionDetailSerializer()
    decisions = RuleDecisionSerializer(many=True)
    executions = serializers.ListField(child=serializers.IntegerField())


class SelfhealErrorSerializer(serializers.Serializer[Any]):
    """The body of a refused request; a domain error carries `code`, a plain 404 does not."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class ProgressListSerializer(serializers.Serializer[Any]):
    running = ProgressSerializer(many=True)
