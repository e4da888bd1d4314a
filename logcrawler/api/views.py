"""Sources, entries, fingerprints and alerts over REST: writes and the entry search call
services; the other list views filter querysets here."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.fields import ErrorSerializer
from config.api.pagination import CursorPagination
from config.api.permissions import IsHumanUser
from engine.permissions import has_permission
from logcrawler.api.serializers import (
    AlertFilterSerializer,
    AlertSerializer,
    CrawlReportSerializer,
    EntryFilterSerializer,
    FingerprintDetailSerializer,
    FingerprintFilterSerializer,
    FingerprintSerializer,
    LogEntrySerializer,
    LogSourceSerializer,
)
from logcrawler.levels import levels_at_or_above
from logcrawler.models import Alert, ErrorFingerprint, LogEntry, LogSource
from logcrawler.services import crawl_source_once, search_entries, set_fingerprint_state
from logcrawler.services.health import RANGES, occurrence_series


class SourceWrites(BasePermission):
    """People read; adding, changing and crawling sources need Django's add_logsource and
    change_logsource, and logcrawler.crawl_logsource."""

    needs = {
        "create": "logcrawler.add_logsource",
        "partial_update": "logcrawler.change_logsource",
        "update": "logcrawler.change_logsource",
        "crawl": "logcrawler.crawl_logsource",
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        permission = self.needs.get(getattr(view, "action", ""), "logcrawler.change_logsource")
        self.message = f"This needs the {permission} permission."
        return has_permission(request.user, permission)


class Newest(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class EntryPagination(Newest):
    ordering = ("-ts", "-id")


class FingerprintPagination(Newest):
    ordering = ("-last_seen", "id")


class AlertPagination(Newest):
    ordering = ("-opened_at", "-id")


class SourcePagination(Newest):
    ordering = ("name",)


@extend_schema_view(
    list=extend_schema(summary="List log sources (tokens are never returned)"),
    retrieve=extend_schema(summary="A log source with its health"),
    create=extend_schema(summary="Add a log source (logcrawler.add_logsource)"),
    partial_update=extend_schema(summary="Change a log source (logcrawler.change_logsource)"),
)
class SourceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[LogSource],
):
    permission_classes = [IsHumanUser, SourceWrites]
    serializer_class = LogSourceSerializer
    pagination_class = SourcePagination
    queryset = LogSource.objects.all()
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(
        summary="Crawl the source now (logcrawler.crawl_logsource)",
        request=None,
        responses=CrawlReportSerializer,
    )
    @action(detail=True, methods=["post"])
    def crawl(self, request: Request, pk: str) -> Response:
        report = crawl_source_once(source=self.get_object())
        return Response(CrawlReportSerializer(report).data)


@extend_schema_view(
    list=extend_schema(
        summary="Search log entries, newest first", parameters=[EntryFilterSerializer]
    ),
    retrieve=extend_schema(summary="A log entry"),
)
class EntryViewSet(viewsets.ReadOnlyModelViewSet[LogEntry]):
    permission_classes = [IsHumanUser]
    serializer_class = LogEntrySerializer
    pagination_class = EntryPagination

    def get_queryset(self) -> QuerySet[LogEntry]:
        if self.action != "list":
            return LogEntry.objects.all()
        filters = EntryFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        given = filters.validated_data
        return search_entries(
            text=given.get("q", ""),
            source=given.get("source", ""),
            service=given.get("service", ""),
            level=given.get("level", ""),
            min_level=given.get("min_level", ""),
            fingerprint=given.get("fingerprint", ""),
            since=given.get("since"),
            until=given.get("until"),
        )


STATE_CHANGE = extend_schema(
    request=None,
    responses={
        200: FingerprintSerializer,
        404: OpenApiResponse(ErrorSerializer, description="No such fingerprint."),
    },
)
GUARDED_CHANGE = extend_schema(
    request=None,
    responses={
        200: FingerprintSerializer,
        403: OpenApiResponse(
            ErrorSerializer,
            description="Needs logcrawler.mute_fingerprint (mute, unmute) "
            "or logcrawler.resolve_fingerprint (resolve).",
        ),
        404: OpenApiResponse(ErrorSerializer, description="No such fingerprint."),
    },
)


@extend_schema_view(
    list=extend_schema(
        summary="List fingerprints, most recently seen first",
        parameters=[FingerprintFilterSerializer],
    ),
    retrieve=extend_schema(
        summary="A fingerprint with recent entries and hourly counts over the last day",
        responses=FingerprintDetailSerializer,
    ),
)
class FingerprintViewSet(viewsets.ReadOnlyModelViewSet[ErrorFingerprint]):
    permission_classes = [IsHumanUser]
    serializer_class = FingerprintSerializer
    pagination_class = FingerprintPagination
    lookup_value_regex = "[0-9a-zA-Z_-]+"

    def get_queryset(self) -> QuerySet[ErrorFingerprint]:
        fingerprints = ErrorFingerprint.objects.defer("group")
        if self.action != "list":
            return fingerprints
        filters = FingerprintFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        given = filters.validated_data
        lookups = {
            "state": given.get("state"),
            "kind": given.get("kind"),
            "service": given.get("service"),
            "template__icontains": given.get("q"),
        }
        fingerprints = fingerprints.filter(**{k: v for k, v in lookups.items() if v})
        if given.get("min_level"):
            fingerprints = fingerprints.filter(level__in=levels_at_or_above(given["min_level"]))
        return fingerprints

    def retrieve(self, request: Request, pk: str) -> Response:
        fingerprint = self.get_object()
        series = occurrence_series([fingerprint.id], range_=RANGES["day"], now=timezone.now())
        context = {"hourly_counts": series[fingerprint.id].counts}
        return Response(FingerprintDetailSerializer(fingerprint, context=context).data)

    def _change(self, request: Request, pk: str, action_name: str) -> Response:
        fingerprint = set_fingerprint_state(
            fingerprint_id=pk, action=action_name, user=request.user
        )
        return Response(FingerprintSerializer(fingerprint).data)

    @extend_schema(summary="Acknowledge: someone is on it")
    @STATE_CHANGE
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        return self._change(request, pk, "acknowledge")

    @extend_schema(summary="Resolve: it regresses and alerts again if it comes back")
    @GUARDED_CHANGE
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str) -> Response:
        return self._change(request, pk, "resolve")

    @extend_schema(summary="Mute: never alert on it")
    @GUARDED_CHANGE
    @action(detail=True, methods=["post"])
    def mute(self, request: Request, pk: str) -> Response:
        return self._change(request, pk, "mute")

    @extend_schema(summary="Unmute (back to acknowledged)")
    @GUARDED_CHANGE
    @action(detail=True, methods=["post"])
    def unmute(self, request: Request, pk: str) -> Response:
        return self._change(request, pk, "unmute")


@extend_schema_view(
    list=extend_schema(summary="List alerts, newest first", parameters=[AlertFilterSerializer]),
    retrieve=extend_schema(summary="An alert"),
)
class AlertViewSet(viewsets.ReadOnlyModelViewSet[Alert]):
    permission_classes = [IsHumanUser]
    serializer_class = AlertSerializer
    pagination_class = AlertPagination

    def get_queryset(self) -> QuerySet[Alert]:
        alerts = Alert.objects.select_related("rule")
        if self.action != "list":
            return alerts
        filters = AlertFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        state = filters.validated_data.get("state")
        if state == "open":
            alerts = alerts.open()
        elif state:
            alerts = alerts.filter(state=state)
        if filters.validated_data.get("rule"):
            alerts = alerts.filter(rule__name=filters.validated_data["rule"])
        return alerts
