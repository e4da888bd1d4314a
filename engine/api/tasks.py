"""Tasks for people: create, list, read with history, and the decisions on them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.fields import ErrorSerializer
from config.api.pagination import CursorPagination
from config.api.permissions import IsHumanUser, human_user
from engine.api.serializers import (
    ApproveSerializer,
    NoteSerializer,
    TaskCreateSerializer,
    TaskDetailSerializer,
    TaskFilterSerializer,
    TaskSerializer,
)
from engine.models import Task, TaskSource
from engine.services import approve_task, cancel_task, create_task, reject_task, retry_task

REFUSED = {
    400: OpenApiResponse(description="Invalid input; the body names the fields."),
    403: OpenApiResponse(
        ErrorSerializer,
        description="Not yours to decide: another's task or a dangerous one needs a "
        "permission, and with four eyes on nobody approves their own dangerous task.",
    ),
    404: OpenApiResponse(ErrorSerializer, description="No such task."),
    409: OpenApiResponse(ErrorSerializer, description="The task is not in a state for this."),
}


class TaskCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200


def decision(summary: str, request: Any) -> Any:
    return extend_schema(
        summary=summary, request=request, responses={200: TaskSerializer, **REFUSED}
    )


@extend_schema_view(
    list=extend_schema(summary="List tasks, newest first", parameters=[TaskFilterSerializer]),
    retrieve=extend_schema(summary="A task with its history", responses=TaskDetailSerializer),
)
class TaskViewSet(viewsets.GenericViewSet[Task]):
    permission_classes = [IsHumanUser]
    serializer_class = TaskSerializer
    pagination_class = TaskCursorPagination
    lookup_value_converter = "int"

    def get_queryset(self) -> QuerySet[Task]:
        tasks = Task.objects.visible_to(self.request.user).select_related(
            "created_by", "decided_by"
        )
        return tasks.prefetch_related("events") if self.action == "retrieve" else tasks

    def ensure_visible(self, pk: int) -> None:
        """Decisions address tasks by id: the same 404 as the detail for what one may not see."""
        if not self.get_queryset().filter(pk=pk).exists():
            raise NotFound(f"task {pk} does not exist")

    def list(self, request: Request) -> Response:
        filters = TaskFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(self.get_queryset().filter(**filters.lookups()))
        return self.get_paginated_response(TaskSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: int) -> Response:
        task = self.get_object()
        return Response(TaskDetailSerializer(task).data)

    @extend_schema(
        summary="Create a task",
        request=TaskCreateSerializer,
        responses={
            201: TaskSerializer,
            200: OpenApiResponse(
                TaskSerializer, description="An unfinished task already had this dedupe key."
            ),
            400: REFUSED[400],
        },
    )
    def create(self, request: Request) -> Response:
        given = TaskCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        outcome = create_task(
            **given.validated_data, source=TaskSource.USER, created_by=human_user(request)
        )
        code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        return Response(TaskSerializer(outcome.task).data, status=code)

    @decision("Approve a task waiting for approval", ApproveSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: int) -> Response:
        self.ensure_visible(pk)
        given = ApproveSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        task = approve_task(task_id=pk, user=human_user(request), **given.validated_data)
        return Response(TaskSerializer(task).data)

    @decision("Reject a task waiting for approval (it is cancelled)", NoteSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: int) -> Response:
        self.ensure_visible(pk)
        given = NoteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        task = reject_task(task_id=pk, user=human_user(request), **given.validated_data)
        return Response(TaskSerializer(task).data)

    @decision("Cancel an unfinished task", NoteSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: int) -> Response:
        self.ensure_visible(pk)
        given = NoteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        task = cancel_task(task_id=pk, user=human_user(request), **given.validated_data)
        return Response(TaskSerializer(task).data)

    @decision("Retry a failed or cancelled task with fresh attempts", NoteSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: int) -> Response:
        self.ensure_visible(pk)
        given = NoteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        task = retry_task(task_id=pk, user=human_user(request), **given.validated_data)
        return Response(TaskSerializer(task).data)
