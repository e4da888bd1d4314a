"""What the log crawler's API reads and writes. A source's token is write-only."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.api.fields import JSONObjectField
from logcrawler.levels import Level
from logcrawler.models import (
    Alert,
    AlertState,
    ErrorFingerprint,
    FingerprintKind,
    FingerprintState,
    LogEntry,
    LogSource,
)
from logcrawler.sources import SourceError, adapter_class

MAX_QUERY_CHARS = 200


class CrawlReportSerializer(serializers.Serializer[Any]):
    """What one crawl of a source read."""

    # A field named like Field.source: DRF's metaclass takes it off the class, so only the
    # type checker sees the clash.
    source = serializers.CharField()  # type: ignore[assignment]
    lines = serializers.IntegerField(help_text="Entries stored.")
    status = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    skipped = serializers.BooleanField(
        help_text="Not crawled: another crawl of it was under way, or it is rate limited."
    )


class LogSourceSerializer(serializers.ModelSerializer[LogSource]):
    token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Write-only; blank removes the stored token; never returned.",
    )
    has_token = serializers.BooleanField(source="has_secret", read_only=True)
    settings = JSONObjectField(required=False)

    class Meta:
        model = LogSource
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "settings",
            "token",
            "has_token",
            "status",
            "status_detail",
            "last_error",
            "retry_after",
            "last_crawl_at",
            "last_success_at",
            "last_crawl_lines",
            "lines_read",
            "created_at",
        ]
        read_only_fields = [
            "status",
            "status_detail",
            "last_error",
            "retry_after",
            "last_crawl_at",
            "last_success_at",
            "last_crawl_lines",
            "lines_read",
            "created_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            self.instance is not None
            and attrs.get("kind", self.instance.kind) != self.instance.kind
        ):
            # Its cursor and settings mean something only to the kind that wrote them.
            raise serializers.ValidationError(
                {"kind": "A source's kind cannot change; create a new source."}, code="conflict"
            )
        kind = attrs.get("kind", getattr(self.instance, "kind", ""))
        settings = attrs.get("settings", getattr(self.instance, "settings", {}))
        if not isinstance(settings, dict):
            raise serializers.ValidationError({"settings": "A JSON object."})
        if "token" in settings:
            raise serializers.ValidationError(
                {"settings": "Send the token in the token field, not in settings."}
            )
        try:
            errors = adapter_class(kind).settings_errors(settings)
        except SourceError as exc:
            raise serializers.ValidationError({"kind": str(exc)}) from None
        if errors:
            raise serializers.ValidationError(
                {"settings": [f"{key}: {problem}" for key, problem in errors.items()]}
            )
        if "token" in attrs:
            attrs["secret"] = attrs.pop("token")
        return attrs


class LogEntrySerializer(serializers.ModelSerializer[LogEntry]):
    class Meta:
        model = LogEntry
        fields = ["id", "source", "ts", "level", "service", "message", "attributes", "fingerprint"]


class EntryFilterSerializer(serializers.Serializer[Any]):
    # A field named "source" shadows Field.source in the stubs only; DRF allows it.
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, max_length=100, help_text="Source name."
    )
    service = serializers.CharField(required=False, max_length=100)
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    min_level = serializers.ChoiceField(choices=Level.choices, required=False)
    fingerprint = serializers.CharField(required=False, max_length=32)
    q = serializers.CharField(required=False, max_length=MAX_QUERY_CHARS, help_text="Text.")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class FingerprintSerializer(serializers.ModelSerializer[ErrorFingerprint]):
    # Plain strings in the schema: "kind" and "state" enums already name other choice sets.
    kind = serializers.CharField(read_only=True, help_text="message, traceback or http")

    class Meta:
        model = ErrorFingerprint
        fields = [
            "id",
            "kind",
            "service",
            "template",
            "status_class",
            "level",
            "state",
            "first_seen",
            "last_seen",
            "total_count",
            "sample_message",
            "task",
            "state_changed_at",
            "state_changed_by",
            "resolved_at",
            "regressed_at",
        ]


class FingerprintDetailSerializer(FingerprintSerializer):
    recent_entries = serializers.SerializerMethodField()
    hourly_counts = serializers.SerializerMethodField()

    class Meta(FingerprintSerializer.Meta):
        fields = [*FingerprintSerializer.Meta.fields, "recent_entries", "hourly_counts"]

    def get_recent_entries(self, fingerprint: ErrorFingerprint) -> list[dict[str, Any]]:
        rows = LogEntry.objects.filter(fingerprint=fingerprint).order_by("-ts", "-id")[:10]
        return list(LogEntrySerializer(rows, many=True).data)

    def get_hourly_counts(self, fingerprint: ErrorFingerprint) -> list[int]:
        return list(self.context.get("hourly_counts", []))


class FingerprintFilterSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=FingerprintState.choices, required=False)
    kind = serializers.ChoiceField(choices=FingerprintKind.choices, required=False)
    service = serializers.CharField(required=False, max_length=100)
    min_level = serializers.ChoiceField(choices=Level.choices, required=False)
    q = serializers.CharField(required=False, max_length=MAX_QUERY_CHARS)


class AlertSerializer(serializers.ModelSerializer[Alert]):
    rule = serializers.CharField(source="rule.name", read_only=True)
    state = serializers.CharField(read_only=True, help_text="pending, firing or resolved")
    rule_kind = serializers.CharField(source="rule.kind", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "rule_kind",
            "subject",
            "fingerprint",
            "title",
            "reason",
            "state",
            "severity",
            "value",
            "detail",
            "opened_at",
            "fired_at",
            "resolved_at",
            "task",
            "webhook_status",
        ]


class AlertFilterSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(
        choices=["open", *AlertState.values],
        required=False,
        help_text="open (pending or firing), pending, firing or resolved",
    )
    rule = serializers.CharField(required=False, max_length=100)


class IngestResponseSerializer(serializers.Serializer[Any]):
    accepted = serializers.IntegerField(help_text="Entries stored (a joined traceback is one).")
    received = serializers.IntegerField(help_text="Items (or text lines) in the body.")
    rejected = serializers.ListField(
        child=serializers.DictField(), help_text="[{index, reason}] for each refused item."
    )
    fingerprints = serializers.IntegerField()
    new_fingerprints = serializers.ListField(child=serializers.CharField())
    replayed = serializers.BooleanField(help_text="True: answered from the idempotency key.")
