"""The incidents API's shapes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.api.fields import EnumChoiceField
from incidents.models import Incident, IncidentEvent, IncidentSource, IncidentState
from routing.money import MONEY_DIGITS, MONEY_PLACES


class IncidentEventSerializer(serializers.ModelSerializer[IncidentEvent]):
    class Meta:
        model = IncidentEvent
        fields = ["id", "at", "from_state", "to_state", "actor", "note", "data"]
        read_only_fields = fields


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    state = EnumChoiceField(IncidentState, read_only=True)
    source = EnumChoiceField(IncidentSource, read_only=True)  # type: ignore[assignment]
    groups = serializers.SerializerMethodField()
    cost = serializers.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        read_only=True,
        help_text="USD so far: the model calls of its agent runs (0 for offline runs).",
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "source",
            "state",
            "created_at",
            "updated_at",
            "waiting_reason",
            "offline",
            "demo",
            "regressions",
            "cost",
            "groups",
            "investigation",
            "fix",
            "applied_at",
            "verify_until",
            "verified_at",
            "dismissed_reason",
        ]
        read_only_fields = fields

    def get_groups(self, incident: Incident) -> list[str]:
        return [g.pk for g in incident.fingerprints.all()]


class IncidentDetailSerializer(IncidentSerializer):
    alerts = serializers.SerializerMethodField()
    tasks = serializers.SerializerMethodField()
    sessions = serializers.SerializerMethodField()
    autoprs = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [
            *IncidentSerializer.Meta.fields,
            "triage",
            "triage_data",
            "applied_note",
            "alerts",
            "tasks",
            "sessions",
            "autoprs",
            "findings",
        ]
        read_only_fields = fields

    def get_alerts(self, incident: Incident) -> list[int]:
        return list(incident.alerts.values_list("pk", flat=True))

    def get_tasks(self, incident: Incident) -> list[int]:
        return list(incident.tasks.values_list("pk", flat=True))

    def get_sessions(self, incident: Incident) -> list[int]:
        return list(incident.sessions.values_list("pk", flat=True))

    def get_autoprs(self, incident: Incident) -> list[int]:
        return list(incident.autoprs.values_list("pk", flat=True))

    def get_findings(self, incident: Incident) -> list[int]:
        return list(incident.findings.values_list("pk", flat=True))


class IncidentFilterSerializer(serializers.Serializer[Any]):
    state = EnumChoiceField(IncidentState, required=False)
    source = EnumChoiceField(IncidentSource, required=False)  # type: ignore[assignment]


class DismissSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(min_length=1, max_length=2000)


class MarkAppliedSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class EscalateSerializer(serializers.Serializer[Any]):
    finding = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The code-health finding's id."
    )
