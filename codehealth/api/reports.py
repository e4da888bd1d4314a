"""Weekly reports over REST: list, read, and write one now (the same service the schedule and
`manage.py codehealth_report` use)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from codehealth.models import Repository, WeeklyReport
from codehealth.services.weekly import last_complete_week, week_start_of, write_weekly_report
from config.api.pagination import CursorPagination
from config.api.permissions import IsHumanUser, human_user
from engine.services.history import user_actor

EARLIEST_WEEK = date(2000, 1, 3)


class WeeklyReportSerializer(serializers.ModelSerializer[WeeklyReport]):
    repository: serializers.SlugRelatedField[Repository] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    complete = serializers.BooleanField(
        source="is_complete", read_only=True, help_text="False: written before its week ended."
    )
    sections = serializers.DictField(
        read_only=True,
        help_text="new, fixed, reopened, ruleset (by kind, then severity); open_by_severity, "
        "open_by_kind, previous_open, last_scan, trend (the last weeks), top_new_rules, "
        "stale, contract, dependencies, autoprs (opened, merged, failed), "
        "scanner_failures, ruleset_changes, expiring. See docs/codehealth.md.",
    )
    markdown_url = serializers.SerializerMethodField(help_text="The report as Markdown.")

    class Meta:
        model = WeeklyReport
        fields = [
            "id",
            "repository",
            "week_start",
            "starts_at",
            "ends_at",
            "complete",
            "scans",
            "open_total",
            "open_change",
            "new_total",
            "fixed_total",
            "reopened_total",
            "autoprs_opened",
            "autoprs_merged",
            "autoprs_failed",
            "sections",
            "generated_at",
            "generated_by",
            "markdown_url",
        ]
        read_only_fields = fields

    def get_markdown_url(self, report: WeeklyReport) -> str:
        return reverse("codehealth:report-markdown", args=[report.pk])


class WeeklyReportFilterSerializer(serializers.Serializer[Any]):
    repository = serializers.CharField(required=False, max_length=100)


class WriteReportSerializer(serializers.Serializer[Any]):
    repository = serializers.SlugRelatedField(
        slug_field="name", queryset=Repository.objects.all(), help_text="Its name."
    )
    week = serializers.DateField(
        required=False,
        help_text="Any day of the week (UTC); default: the last complete week. The current "
        "week gives the week so far.",
    )

    def validate_week(self, value: date) -> date:
        if not EARLIEST_WEEK <= value <= timezone.now().date():
            raise serializers.ValidationError(f"A day from {EARLIEST_WEEK} to today.")
        return week_start_of(value)


class ByWeek(CursorPagination):
    ordering = ("-week_start", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema_view(
    list=extend_schema(
        summary="List weekly reports, newest week first",
        parameters=[WeeklyReportFilterSerializer],
    ),
    retrieve=extend_schema(summary="A weekly report with its sections"),
)
class WeeklyReportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[WeeklyReport]
):
    permission_classes = [IsHumanUser]
    serializer_class = WeeklyReportSerializer
    pagination_class = ByWeek

    def get_queryset(self) -> QuerySet[WeeklyReport]:
        reports = WeeklyReport.objects.select_related("repository")
        if self.action != "list":
            return reports
        filters = WeeklyReportFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        if filters.validated_data.get("repository"):
            reports = reports.filter(repository__name=filters.validated_data["repository"])
        return reports

    @extend_schema(
        summary="Write a repository's report of a week now (again, if it exists)",
        request=WriteReportSerializer,
        responses={201: WeeklyReportSerializer},
    )
    def create(self, request: Request) -> Response:
        given = WriteReportSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        report = write_weekly_report(
            repository=given.validated_data["repository"],
            week_start=given.validated_data.get("week") or last_complete_week(),
            actor=user_actor(human_user(request)),
        )
        return Response(WeeklyReportSerializer(report).data, status=status.HTTP_201_CREATED)
