"""Repositories, scans, findings and auto-PRs over REST; the writes call the services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from codehealth.api.serializers import (
    AcceptSerializer,
    AutofixSerializer,
    AutoPRFilterSerializer,
    AutoPRSerializer,
    CodeFindingSerializer,
    DependencyPartSerializer,
    FindingFilterSerializer,
    ProposePatchSerializer,
    ReasonSerializer,
    RejectSerializer,
    RepositorySerializer,
    ScanFilterSerializer,
    ScanSerializer,
    StartScanSerializer,
)
from codehealth.models import AutoPR, Finding, Repository, Scan
from codehealth.services import (
    accept_finding,
    autofix_rule,
    create_finding_task,
    list_findings,
    mark_false_positive,
    merge_autopr,
    propose_patch,
    reject_autopr,
    reopen_finding,
    repository_summary,
    scan_to_sarif,
    start_scan,
)
from codehealth.services.dependency_audit import dependency_parts
from config.api.fields import ErrorSerializer
from config.api.pagination import CursorPagination
from config.api.permissions import IsHumanUser, human_user
from engine.api.serializers import TaskSerializer
from engine.services.history import user_actor


class StaffWrites(BasePermission):
    message = "Only staff may change repositories or propose changes to them."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return bool(request.user and request.user.is_staff)


class Newest(CursorPagination):
    ordering = ("-id",)
    page_size_query_param = "page_size"
    max_page_size = 500


class ByName(Newest):
    ordering = ("name",)


NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such row.")
REFUSED = OpenApiResponse(ErrorSerializer, description="Refused, with the reason.")


@extend_schema_view(
    list=extend_schema(summary="List repositories (tokens are never returned)"),
    retrieve=extend_schema(summary="A repository"),
    create=extend_schema(summary="Register a repository (staff)"),
    partial_update=extend_schema(summary="Change a repository (staff)"),
)
class RepositoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Repository],
):
    permission_classes = [IsHumanUser, StaffWrites]
    serializer_class = RepositorySerializer
    pagination_class = ByName
    queryset = Repository.objects.all()
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(
        summary="The dependency audit: each part's open findings, or no data and why",
        responses={200: DependencyPartSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def dependencies(self, request: Request, pk: str) -> Response:
        repository = self.get_object()
        parts = dependency_parts(repository, repository_summary(repository))
        return Response(DependencyPartSerializer(parts, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="List scans, newest first", parameters=[ScanFilterSerializer]),
    retrieve=extend_schema(summary="A scan with each tool's run and its counts"),
)
class ScanViewSet(viewsets.ReadOnlyModelViewSet[Scan]):
    permission_classes = [IsHumanUser]
    serializer_class = ScanSerializer
    pagination_class = Newest

    def get_queryset(self) -> QuerySet[Scan]:
        scans = Scan.objects.select_related("repository").prefetch_related("tool_runs")
        if self.action != "list":
            return scans
        filters = ScanFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        given = filters.validated_data
        if given.get("repository"):
            scans = scans.filter(repository__name=given["repository"])
        if given.get("status"):
            scans = scans.filter(status=given["status"])
        return scans

    @extend_schema(
        summary="Start a scan: a worker runs it (one per repository at a time)",
        request=StartScanSerializer,
        responses={202: ScanSerializer, 400: ErrorSerializer},
    )
    def create(self, request: Request) -> Response:
        given = StartScanSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = human_user(request)
        scan = start_scan(
            repository=given.validated_data["repository"],
            ref=given.validated_data.get("ref", ""),
            actor=user_actor(user),
            created_by=user,
        )
        return Response(ScanSerializer(scan).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The scan as SARIF 2.1.0",
        responses={200: OpenApiResponse(description="A SARIF 2.1.0 log."), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def sarif(self, request: Request, pk: str) -> Response:
        return Response(scan_to_sarif(self.get_object()))


FINDING_CHANGE = {200: CodeFindingSerializer, 404: NOT_FOUND, 409: REFUSED}


@extend_schema_view(
    list=extend_schema(
        summary="List findings, newest first, filtered", parameters=[FindingFilterSerializer]
    ),
    retrieve=extend_schema(summary="A finding"),
)
class FindingViewSet(viewsets.ReadOnlyModelViewSet[Finding]):
    permission_classes = [IsHumanUser]
    serializer_class = CodeFindingSerializer
    pagination_class = Newest

    def get_queryset(self) -> QuerySet[Finding]:
        if self.action != "list":
            return Finding.objects.select_related("repository", "last_seen_scan")
        filters = FindingFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        given = dict(filters.validated_data)
        repository = None
        if given.get("repository"):
            repository = Repository.objects.filter(name=given["repository"]).first()
            if repository is None:
                return Finding.objects.none()
        return list_findings(
            repository=repository,
            kind=given.get("kind", ""),
            severity=given.get("severity", ""),
            state=given.get("state", ""),
            tool=given.get("tool", ""),
            rule=given.get("rule", ""),
            path=given.get("path", ""),
            new_only=given.get("new_only", False),
            query=given.get("q", ""),
            confidence=given.get("confidence", ""),
        ).select_related("last_seen_scan")

    def _done(self, finding: Finding) -> Response:
        return Response(CodeFindingSerializer(finding).data)

    @extend_schema(
        summary="Accept until a date, with a reason",
        request=AcceptSerializer,
        responses=FINDING_CHANGE,
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        found = self.get_object()
        given = AcceptSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        finding = accept_finding(
            finding_id=found.pk,
            reason=given.validated_data["reason"],
            until=given.validated_data["until"],
            actor=user_actor(human_user(request)),
        )
        return self._done(finding)

    @extend_schema(
        summary="Mark a false positive (remembered)",
        request=ReasonSerializer,
        responses=FINDING_CHANGE,
    )
    @action(detail=True, methods=["post"], url_path="false-positive")
    def false_positive(self, request: Request, pk: str) -> Response:
        found = self.get_object()
        given = ReasonSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        finding = mark_false_positive(
            finding_id=found.pk,
            reason=given.validated_data["reason"],
            actor=user_actor(human_user(request)),
        )
        return self._done(finding)

    @extend_schema(
        summary="Undo an acceptance or a false positive",
        request=ReasonSerializer,
        responses=FINDING_CHANGE,
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        found = self.get_object()
        given = ReasonSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        finding = reopen_finding(
            finding_id=found.pk,
            actor=user_actor(human_user(request)),
            note=given.validated_data["reason"],
        )
        return self._done(finding)

    @extend_schema(
        summary="Open an engine task to fix it (one per finding)",
        request=None,
        responses={201: TaskSerializer, 404: NOT_FOUND, 409: REFUSED},
    )
    @action(detail=True, methods=["post"])
    def task(self, request: Request, pk: str) -> Response:
        user = human_user(request)
        task = create_finding_task(
            finding_id=self.get_object().pk, actor=user_actor(user), created_by=user
        )
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class MergeRights(BasePermission):
    message = "Merging and rejecting need staff or the codehealth.merge_autopr permission."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and (user.is_staff or user.has_perm("codehealth.merge_autopr")))


AUTOPR_CHANGE = {200: AutoPRSerializer, 403: ErrorSerializer, 404: NOT_FOUND, 409: REFUSED}


@extend_schema_view(
    list=extend_schema(summary="List auto-PRs, newest first", parameters=[AutoPRFilterSerializer]),
    retrieve=extend_schema(summary="An auto-PR with its diff"),
)
class AutoPRViewSet(viewsets.ReadOnlyModelViewSet[AutoPR]):
    permission_classes = [IsHumanUser]
    serializer_class = AutoPRSerializer
    pagination_class = Newest

    def get_permissions(self) -> list[BasePermission]:
        if self.action in ("merge", "reject"):
            return [IsHumanUser(), MergeRights()]
        if self.action in ("create", "autofix"):
            return [IsHumanUser(), StaffWrites()]
        return [IsHumanUser()]

    def get_queryset(self) -> QuerySet[AutoPR]:
        autoprs = AutoPR.objects.select_related("repository")
        if self.action != "list":
            return autoprs
        filters = AutoPRFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        given = filters.validated_data
        if given.get("repository"):
            autoprs = autoprs.filter(repository__name=given["repository"])
        if given.get("state"):
            autoprs = autoprs.filter(state=given["state"])
        return autoprs

    @extend_schema(
        summary="Propose a unified diff as a branch for a person to merge (staff)",
        request=ProposePatchSerializer,
        responses={201: AutoPRSerializer, 400: ErrorSerializer, 409: REFUSED},
    )
    def create(self, request: Request) -> Response:
        given = ProposePatchSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = human_user(request)
        autopr = propose_patch(
            repository=given.validated_data["repository"],
            diff=given.validated_data["diff"],
            title=given.validated_data["title"],
            name=given.validated_data["name"],
            description=given.validated_data["description"],
            base=given.validated_data["base"],
            actor=user_actor(user),
            created_by=user,
        )
        return Response(AutoPRSerializer(autopr).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Propose one ruff rule's safe fixes (staff)",
        request=AutofixSerializer,
        responses={201: AutoPRSerializer, 400: ErrorSerializer, 409: REFUSED},
    )
    @action(detail=False, methods=["post"])
    def autofix(self, request: Request) -> Response:
        given = AutofixSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = human_user(request)
        autopr = autofix_rule(
            repository=given.validated_data["repository"],
            rule=given.validated_data["rule"],
            actor=user_actor(user),
            created_by=user,
        )
        return Response(AutoPRSerializer(autopr).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Merge: fast-forward the target branch (refused if it moved)",
        request=None,
        responses=AUTOPR_CHANGE,
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str) -> Response:
        autopr = merge_autopr(autopr_id=self.get_object().pk, user=human_user(request))
        return Response(AutoPRSerializer(autopr).data)

    @extend_schema(
        summary="Reject: the branch is deleted, the task ends",
        request=RejectSerializer,
        responses=AUTOPR_CHANGE,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        found = self.get_object()
        given = RejectSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        autopr = reject_autopr(
            autopr_id=found.pk,
            user=human_user(request),
            note=given.validated_data["note"],
        )
        return Response(AutoPRSerializer(autopr).data)
