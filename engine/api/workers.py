"""Workers: people register and list them; a worker, with its own token, asks for work,
reports that it is alive, and hands in results."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.fields import ErrorSerializer
from config.api.pagination import CursorPagination
from config.api.permissions import IsHumanUser, human_user
from engine.api.permissions import IsThisWorker, this_worker
from engine.api.serializers import (
    CompleteSerializer,
    FailSerializer,
    HeartbeatSerializer,
    RegisteredWorkerSerializer,
    TaskSerializer,
    WorkerRegisterSerializer,
    WorkerSerializer,
)
from engine.models import Worker
from engine.services import TaskRouter, complete_task, fail_task, heartbeat, register_worker

NOT_YOURS = OpenApiResponse(ErrorSerializer, description="Another worker's token.")
LEASE_REFUSED = {
    400: OpenApiResponse(description="Invalid input; the body names the fields."),
    403: NOT_YOURS,
    404: OpenApiResponse(ErrorSerializer, description="No such task."),
    409: OpenApiResponse(
        ErrorSerializer, description="This worker does not hold the task; nothing changed."
    ),
}


class WorkerCursorPagination(CursorPagination):
    ordering = ("name",)
    page_size_query_param = "page_size"
    max_page_size = 200


class WorkerViewSet(viewsets.GenericViewSet[Worker]):
    permission_classes = [IsHumanUser]
    serializer_class = WorkerSerializer
    pagination_class = WorkerCursorPagination
    lookup_value_converter = "int"

    def get_queryset(self) -> QuerySet[Worker]:
        return Worker.objects.all()

    @extend_schema(summary="List workers")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WorkerSerializer(page, many=True).data)

    @extend_schema(
        summary="Register a worker; its token is in the answer, once",
        request=WorkerRegisterSerializer,
        responses={
            201: RegisteredWorkerSerializer,
            200: OpenApiResponse(
                RegisteredWorkerSerializer,
                description="A worker of this name existed and is yours (or you manage "
                "workers): it has a new token, the old one no longer works.",
            ),
            400: OpenApiResponse(description="Invalid input; the body names the fields."),
            403: OpenApiResponse(
                ErrorSerializer, description="`shared` asked by someone who may not manage workers."
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description="The name belongs to a built-in worker or to another user's worker "
                "(`field` is `name`); nothing changed.",
            ),
        },
    )
    def create(self, request: Request) -> Response:
        given = WorkerRegisterSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        registered = register_worker(**given.validated_data, registered_by=human_user(request))
        code = status.HTTP_201_CREATED if registered.created else status.HTTP_200_OK
        return Response(RegisteredWorkerSerializer(registered).data, status=code)

    @extend_schema(
        summary="The worker is alive: extend the leases it holds",
        request=None,
        responses={200: HeartbeatSerializer, 403: NOT_YOURS},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsThisWorker])
    def heartbeat(self, request: Request, pk: int) -> Response:
        beat = heartbeat(worker=this_worker(request))
        return Response(HeartbeatSerializer(beat).data)

    @extend_schema(
        summary="Claim the most urgent task this worker can run",
        request=None,
        responses={
            200: TaskSerializer,
            204: OpenApiResponse(description="Nothing to do now."),
            403: NOT_YOURS,
            409: OpenApiResponse(ErrorSerializer, description="The worker is draining/offline."),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsThisWorker])
    def claim(self, request: Request, pk: int) -> Response:
        task = TaskRouter().claim(this_worker(request))
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(TaskSerializer(task).data)

    @extend_schema(
        summary="Complete a task this worker holds",
        request=CompleteSerializer,
        responses={200: TaskSerializer, **LEASE_REFUSED},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsThisWorker],
        url_path="tasks/<int:task_id>/complete",
        url_name="complete",
    )
    def complete(self, request: Request, pk: int, task_id: int) -> Response:
        given = CompleteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        worker = this_worker(request)
        task = complete_task(worker=worker, task_id=task_id, **given.validated_data)
        return Response(TaskSerializer(task).data)

    @extend_schema(
        summary="Fail the current attempt of a task this worker holds",
        request=FailSerializer,
        responses={200: TaskSerializer, **LEASE_REFUSED},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsThisWorker],
        url_path="tasks/<int:task_id>/fail",
        url_name="fail",
    )
    def fail(self, request: Request, pk: int, task_id: int) -> Response:
        given = FailSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        worker = this_worker(request)
        task = fail_task(worker=worker, task_id=task_id, **given.validated_data)
        return Response(TaskSerializer(task).data)
