"""What code health's API reads and writes. A repository's token is write-only."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from codehealth.models import (
    AutoPR,
    AutoPRKind,
    AutoPRState,
    Finding,
    FindingConfidence,
    FindingKind,
    FindingSeverity,
    FindingState,
    FixApplicability,
    Repository,
    RepositoryKind,
    Scan,
    ScanStatus,
    ToolRun,
    ToolRunOrigin,
    ToolRunStatus,
)
from codehealth.services import CURRENT, finding_line_url
from config.api.fields import EnumChoiceField, StorableJSONField

MAX_QUERY_CHARS = 200


class RepositorySerializer(serializers.ModelSerializer[Repository]):
    kind = EnumChoiceField(RepositoryKind)
    token = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Write-only; blank removes the stored token; never returned.",
    )
    has_token = serializers.BooleanField(read_only=True)
    lint_extend_select = StorableJSONField(required=False)
    scan_environment = StorableJSONField(required=False)

    class Meta:
        model = Repository
        fields = [
            "id",
            "name",
            "kind",
            "path",
            "github_name",
            "default_branch",
            "baseline_commit",
            "test_command",
            "test_timeout_seconds",
            "lint_extend_select",
            "scan_environment",
            "token",
            "has_token",
            "enabled",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = copy.copy(self.instance) if self.instance is not None else Repository()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            candidate.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class ToolRunSerializer(serializers.ModelSerializer[ToolRun]):
    status = EnumChoiceField(ToolRunStatus, read_only=True)
    origin = EnumChoiceField(ToolRunOrigin, read_only=True)

    class Meta:
        model = ToolRun
        fields = [
            "tool",
            "version",
            "config_hash",
            "status",
            "exit_code",
            "duration_ms",
            "error",
            "skip_reason",
            "findings",
            "ruleset_changed",
            "previous_version",
            "previous_config_hash",
            "origin",
            "partial",
            "source_url",
        ]
        read_only_fields = fields


class ScanSerializer(serializers.ModelSerializer[Scan]):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    tool_runs = ToolRunSerializer(many=True, read_only=True)
    status = EnumChoiceField(ScanStatus, read_only=True)
    counts = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        read_only=True,
        help_text="By bucket (new, fixed, reopened, open, new_code, ruleset, accepted, "
        "false_positive), each by severity; and open_by_kind, the open ones by kind.",
    )
    notes = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What the scan could not read or import from the code host, and why.",
    )

    class Meta:
        model = Scan
        fields = [
            "id",
            "repository",
            "ref",
            "commit",
            "baseline",
            "status",
            "progress",
            "phase",
            "counts",
            "notes",
            "error",
            "reused_from",
            "task",
            "triggered_by",
            "created_at",
            "started_at",
            "finished_at",
            "tool_runs",
        ]
        read_only_fields = fields


class DependencyPartSerializer(serializers.Serializer[Any]):
    tool = serializers.CharField(help_text="The scanner behind it: advisories, outdated, deptry.")
    title = serializers.CharField()
    open = serializers.IntegerField(
        allow_null=True, help_text="Open findings; null is no data (see why), never zero."
    )
    why = serializers.CharField(help_text="Why there is no data, or why it may be incomplete.")
    sources = serializers.ListField(
        child=serializers.CharField(), help_text="What the figure stands on, with its age."
    )


class StartScanSerializer(serializers.Serializer[Any]):
    repository = serializers.SlugRelatedField(
        slug_field="name", queryset=Repository.objects.all(), help_text="Its name."
    )
    ref = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Default: its branch."
    )


class ScanFilterSerializer(serializers.Serializer[Any]):
    repository = serializers.CharField(required=False, max_length=100)
    status = EnumChoiceField(ScanStatus, required=False)


class CodeFindingSerializer(serializers.ModelSerializer[Finding]):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    kind = EnumChoiceField(FindingKind, read_only=True)
    severity = EnumChoiceField(FindingSeverity, read_only=True)
    state = EnumChoiceField(FindingState, read_only=True)
    fix_applicability = EnumChoiceField(FixApplicability, read_only=True, allow_blank=True)
    confidence = EnumChoiceField(
        FindingConfidence,
        read_only=True,
        allow_blank=True,
        help_text="How sure the scanner is: stale code is high only where two kinds of "
        "evidence agree; blank when the tool does not say.",
    )
    evidence = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Why the scanner believes it, one sentence each (stale code: the tool's "
        "verdict, the search of the tree's text, the line's last change).",
    )
    line_url = serializers.SerializerMethodField(
        help_text="Where a person reads the line, at the commit last scanned: GitHub's page "
        "for a GitHub repository, this server's code view (a path) for a local one."
    )

    class Meta:
        model = Finding
        fields = [
            "id",
            "repository",
            "fingerprint",
            "tool",
            "rule",
            "kind",
            "severity",
            "path",
            "line",
            "end_line",
            "column",
            "symbol",
            "anchor",
            "message",
            "help_url",
            "fix_applicability",
            "confidence",
            "evidence",
            "state",
            "state_reason",
            "state_changed_at",
            "state_changed_by",
            "accepted_until",
            "is_new",
            "from_ruleset_change",
            "first_seen_scan",
            "last_seen_scan",
            "fixed_in_scan",
            "task",
            "line_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_line_url(self, finding: Finding) -> str:
        return finding_line_url(finding)


class FindingFilterSerializer(serializers.Serializer[Any]):
    repository = serializers.CharField(required=False, max_length=100)
    kind = EnumChoiceField(FindingKind, required=False)
    severity = EnumChoiceField(FindingSeverity, required=False)
    state = serializers.ChoiceField(
        choices=[CURRENT, *FindingState.values],
        required=False,
        help_text=f"{CURRENT} (every state but fixed), or one state.",
    )
    tool = serializers.CharField(required=False, max_length=50)
    rule = serializers.CharField(required=False, max_length=200)
    path = serializers.CharField(required=False, max_length=1000, help_text="A path prefix.")
    new_only = serializers.BooleanField(required=False, default=False)
    confidence = EnumChoiceField(FindingConfidence, required=False)
    q = serializers.CharField(required=False, max_length=MAX_QUERY_CHARS)


class AcceptSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)
    until = serializers.DateTimeField(help_text="When the acceptance expires.")


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AutoPRSerializer(serializers.ModelSerializer[AutoPR]):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    kind = EnumChoiceField(AutoPRKind, read_only=True)
    state = EnumChoiceField(AutoPRState, read_only=True)

    class Meta:
        model = AutoPR
        fields = [
            "id",
            "repository",
            "kind",
            "key",
            "title",
            "description",
            "target_branch",
            "branch",
            "base_commit",
            "head_commit",
            "diff",
            "diff_sha256",
            "state",
            "tests_passed",
            "test_output",
            "error",
            "task",
            "created_by",
            "decided_by",
            "decided_at",
            "merged_commit",
            "external_number",
            "external_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AutoPRFilterSerializer(serializers.Serializer[Any]):
    repository = serializers.CharField(required=False, max_length=100)
    state = EnumChoiceField(AutoPRState, required=False)


class ProposePatchSerializer(serializers.Serializer[Any]):
    repository = serializers.SlugRelatedField(slug_field="name", queryset=Repository.objects.all())
    diff = serializers.CharField(max_length=2_000_000, trim_whitespace=False)
    title = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    base = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class AutofixSerializer(serializers.Serializer[Any]):
    repository = serializers.SlugRelatedField(slug_field="name", queryset=Repository.objects.all())
    rule = serializers.CharField(max_length=20, help_text="A ruff rule code, e.g. F401.")


class RejectSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
