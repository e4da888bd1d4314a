"""Self-heal's REST API. Each view validates its input and calls one service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import CursorPagination
from config.api.permissions import IsHumanUser
from selfheal.api.serializers import (
    AutoHealReportSerializer,
    ExecutionDetailSerializer,
    ExecutionFilterSerializer,
    ExecutionSerializer,
    ProgressListSerializer,
    ProgressSerializer,
    RepairRequestSerializer,
    RevertRequestSerializer,
    RunRequestSerializer,
    SelfhealErrorSerializer,
)
from selfheal.autoheal import run_autoheal
from selfheal.models import PlaybookExecution
from selfheal.services import (
    actor_for,
    require_repair_permission,
    require_revert_permission,
    revert_execution,
    run_diagnosis,
    run_repair,
    running_executions,
)

BUSY = OpenApiResponse(SelfhealErrorSerializer, description="This playbook is already running.")
REFUSED = OpenApiResponse(
    SelfhealErrorSerializer, description="Needs the selfheal.run_repair permission."
)
REVERT_REFUSED = OpenApiResponse(
    SelfhealErrorSerializer, description="Needs the selfheal.revert_execution permission."
)


class IsPerson(IsHumanUser):
    """A user's session or token; a worker's token may not run playbooks."""

    message = "Self-heal is for people; worker tokens may not use it."


class MayRunRepair(BasePermission):
    """A user granted `selfheal.run_repair`: repairs and auto-heal.

    A refusal is `RepairNotAllowed`, so the 403 has the API's error shape (detail and code).
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        require_repair_permission(request.user)
        return True


class MayRevert(BasePermission):
    """A user granted `selfheal.revert_execution`; refused as `RepairNotAllowed` too."""

    def has_permission(self, request: Request, view: Any) -> bool:
        require_revert_permission(request.user)
        return True


class SelfhealView(APIView):
    permission_classes = [IsPerson]


class ChangingView(SelfhealView):
    """A run that may change the system, not only read it."""

    permission_classes = [IsPerson, MayRunRepair]


def detail(execution: PlaybookExecution, code: int = status.HTTP_201_CREATED) -> Response:
    return Response(ExecutionDetailSerializer(execution).data, status=code)


class DiagnoseView(SelfhealView):
    @extend_schema(
        summary="Run a diagnosis",
        request=RunRequestSerializer,
        responses={201: ExecutionDetailSerializer, 409: BUSY},
    )
    def post(self, request: Request) -> Response:
        body = RunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason", "")
        return detail(run_diagnosis(triggered_by=actor_for(request.user), reason=reason))


class RepairView(ChangingView):
    @extend_schema(
        summary="Run a repair (or, with dry_run, show what it would change)",
        request=RepairRequestSerializer,
        responses={
            201: ExecutionDetailSerializer,
            400: OpenApiResponse(
                description="Invalid input (the body names the fields), or a repair the "
                "playbook refuses (`detail` and `code`)."
            ),
            403: REFUSED,
            409: BUSY,
        },
    )
    def post(self, request: Request) -> Response:
        body = RepairRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution = run_repair(
            triggered_by=actor_for(request.user),
            dry_run=body.validated_data["dry_run"],
            reason=body.validated_data.get("reason", ""),
        )
        return detail(execution)


class AutoHealView(ChangingView):
    @extend_schema(
        summary="Diagnose, then run what the auto-heal rules allow",
        request=None,
        responses={200: AutoHealReportSerializer, 403: REFUSED, 409: BUSY},
    )
    def post(self, request: Request) -> Response:
        report = run_autoheal(triggered_by=actor_for(request.user))
        data = {**report.as_dict(), "diagnosis": report.diagnosis}
        return Response(AutoHealReportSerializer(data).data)


class ProgressView(SelfhealView):
    @extend_schema(
        summary="Playbooks running now, with their progress", responses=ProgressListSerializer
    )
    def get(self, request: Request) -> Response:
        running = ProgressSerializer(running_executions(), many=True).data
        return Response({"running": running})


class ExecutionPagination(CursorPagination):
    ordering = ("-id",)
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema_view(
    list=extend_schema(
        summary="Execution history, newest first", parameters=[ExecutionFilterSerializer]
    ),
    retrieve=extend_schema(
        summary="One execution with its findings, actions and snapshots",
        responses={200: ExecutionDetailSerializer, 404: SelfhealErrorSerializer},
    ),
)
class ExecutionViewSet(viewsets.GenericViewSet[PlaybookExecution]):
    permission_classes = [IsPerson]
    serializer_class = ExecutionSerializer
    pagination_class = ExecutionPagination
    lookup_value_converter = "int"

    def get_queryset(self) -> QuerySet[PlaybookExecution]:
        if self.action == "retrieve":
            return PlaybookExecution.objects.prefetch_related("findings", "actions", "snapshots")
        return PlaybookExecution.objects.for_history()

    def list(self, request: Request) -> Response:
        filters = ExecutionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(self.get_queryset().filter(**filters.lookups()))
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: int) -> Response:
        return Response(ExecutionDetailSerializer(self.get_object()).data)

    @extend_schema(
        summary="Revert an execution: restore the rows it changed, unless changed since",
        request=RevertRequestSerializer,
        responses={
            201: ExecutionDetailSerializer,
            403: REVERT_REFUSED,
            404: SelfhealErrorSerializer,
            409: SelfhealErrorSerializer,
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsPerson, MayRevert])
    def revert(self, request: Request, pk: int) -> Response:
        body = RevertRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        execution = revert_execution(
            execution_id=pk,
            triggered_by=actor_for(request.user),
            dry_run=body.validated_data["dry_run"],
        )
        return detail(execution)
