"""What chat's API reads and writes. Input serializers validate; the services do the work."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from chat.models import ChatMessage, ChatSession, ExecutionState, SessionState, ToolExecution
from chat.services.budgets import BudgetTracker
from chat.stop_reasons import StopReason, explain
from routing.models import Mode, Policy
from routing.money import MONEY_DIGITS, MONEY_PLACES

MAX_MESSAGE_CHARS = 20_000
MAX_EVENTS_PAGE = 500


class MessageSerializer(serializers.ModelSerializer[ChatMessage]):
    class Meta:
        model = ChatMessage
        fields = [
            "id",
            "run",
            "role",
            "content",
            "tool_calls",
            "tool_call_id",
            "name",
            "model",
            "provider",
            "prompt_tokens",
            "completion_tokens",
            "cost",
            "created_at",
        ]
        read_only_fields = fields


class ExecutionSerializer(serializers.ModelSerializer[ToolExecution]):
    # Plain strings in the schema: "state" enums of several apps would collide by name.
    state = serializers.CharField(
        read_only=True, help_text="One of: " + ", ".join(ExecutionState.values)
    )

    class Meta:
        model = ToolExecution
        fields = [
            "id",
            "run",
            "step",
            "tool",
            "arguments",
            "permission",
            "state",
            "result_summary",
            "output",
            "error",
            "retry_number",
            "approval_task",
            "duration_ms",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class SessionSerializer(serializers.ModelSerializer[ChatSession]):
    owner: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    state = serializers.CharField(
        read_only=True, help_text="One of: " + ", ".join(SessionState.values)
    )
    mode = serializers.ChoiceField(choices=Mode.choices, read_only=True)
    budget = serializers.SerializerMethodField()
    stop = serializers.SerializerMethodField()

    class Meta:
        model = ChatSession
        fields = [
            "id",
            "title",
            "owner",
            "mode",
            "state",
            "stop",
            "budget",
            "max_steps",
            "max_seconds",
            "max_retries",
            "max_cost",
            "run_number",
            "last_seq",
            "current_task",
            "created_at",
            "updated_at",
            "last_event_at",
        ]
        read_only_fields = fields

    def get_budget(self, session: ChatSession) -> dict[str, Any]:
        # A list passes every mode's policy in its context (`policies_by_mode()`), read once
        # for the page; one session alone reads its own.
        policies: dict[str, Policy] = self.context.get("policies") or {}
        return BudgetTracker(session, policy=policies.get(session.mode)).snapshot()

    def get_stop(self, session: ChatSession) -> dict[str, Any] | None:
        if not session.stop_reason:
            return None
        return explain(StopReason(session.stop_reason), detail=session.stop_detail)


class SessionCreateSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    mode = serializers.ChoiceField(choices=Mode.choices, default=Mode.NORMAL)


class PostMessageSerializer(serializers.Serializer[Any]):
    content = serializers.CharField(max_length=MAX_MESSAGE_CHARS, trim_whitespace=True)


class ModeSerializer(serializers.Serializer[Any]):
    mode = serializers.ChoiceField(choices=Mode.choices)


class BudgetsSerializer(serializers.Serializer[Any]):
    """Omitted: unchanged (so {} changes nothing). null: back to the mode's policy."""

    max_steps = serializers.IntegerField(
        min_value=1, max_value=10_000, required=False, allow_null=True
    )
    max_seconds = serializers.IntegerField(
        min_value=1, max_value=7 * 24 * 3600, required=False, allow_null=True
    )
    max_retries = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, allow_null=True
    )
    max_cost = serializers.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
    )


class EventsQuerySerializer(serializers.Serializer[Any]):
    after = serializers.IntegerField(min_value=0, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_EVENTS_PAGE, default=200)


class EventsPageSerializer(serializers.Serializer[Any]):
    events = serializers.ListField(child=serializers.DictField())
    last_seq = serializers.IntegerField()
    next_after = serializers.IntegerField()
    has_more = serializers.BooleanField()


class AcceptedSerializer(serializers.Serializer[Any]):
    session = SessionSerializer()
    after = serializers.IntegerField(help_text="Stream from here to see this run's events.")
