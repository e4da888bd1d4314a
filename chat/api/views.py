"""Chat sessions over REST: create, list, read; send a message, Run, Stop, change the mode or
the budgets; read the events after a seq. The stream itself is `stream.session_event_stream`."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from chat.api.serializers import (
    AcceptedSerializer,
    BudgetsSerializer,
    EventsPageSerializer,
    EventsQuerySerializer,
    ExecutionSerializer,
    MessageSerializer,
    ModeSerializer,
    PostMessageSerializer,
    SessionCreateSerializer,
    SessionSerializer,
)
from chat.models import ChatSession
from chat.services import (
    change_mode,
    continue_run,
    create_session,
    events_after,
    post_message,
    set_budgets,
    stop_run,
)
from chat.services.budgets import policies_by_mode
from config.api.pagination import CursorPagination
from config.api.permissions import IsHumanUser

DETAIL_ROWS = 200
REFUSED = {
    400: OpenApiResponse(description="Invalid input; the body names the fields."),
    404: OpenApiResponse(description="No such session, or not yours."),
    409: OpenApiResponse(description="The session is busy, or there is nothing to run."),
}


class IsPerson(IsHumanUser):
    message = "Chat is for people; worker tokens may not use it."


def person(request: Request) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied(IsPerson.message)
    return request.user


class SessionPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


@extend_schema_view(
    list=extend_schema(summary="Your chat sessions (everyone's for staff), newest first"),
    retrieve=extend_schema(summary="A session with its budgets and stop reason"),
)
class SessionViewSet(viewsets.GenericViewSet[ChatSession]):
    permission_classes = [IsPerson]
    serializer_class = SessionSerializer
    pagination_class = SessionPagination
    lookup_value_converter = "int"

    def get_queryset(self) -> QuerySet[ChatSession]:
        return ChatSession.objects.visible_to(self.request.user).select_related("owner")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = SessionSerializer(page, many=True, context={"policies": policies_by_mode()})
        return self.get_paginated_response(rows.data)

    @extend_schema(
        summary="Create a session",
        request=SessionCreateSerializer,
        responses={201: SessionSerializer},
    )
    def create(self, request: Request) -> Response:
        given = SessionCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        session = create_session(owner=person(request), **given.validated_data)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: int) -> Response:
        session = self.get_object()
        messages = session.messages.order_by("-id")[:DETAIL_ROWS]
        executions = session.executions.order_by("-id")[:DETAIL_ROWS]
        return Response(
            {
                **SessionSerializer(session).data,
                "messages": MessageSerializer(list(messages)[::-1], many=True).data,
                "executions": ExecutionSerializer(list(executions)[::-1], many=True).data,
            }
        )

    @extend_schema(
        summary="Send a message: starts a run",
        request=PostMessageSerializer,
        responses={202: AcceptedSerializer, **REFUSED},
    )
    @action(detail=True, methods=["post"])
    def messages(self, request: Request, pk: int) -> Response:
        session = self.get_object()
        given = PostMessageSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        after = session.last_seq
        post_message(session_id=session.pk, user=person(request), **given.validated_data)
        return self._accepted(session, after)

    @extend_schema(
        summary="Run: continue a paused run",
        request=None,
        responses={202: AcceptedSerializer, **REFUSED},
    )
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: int) -> Response:
        session = self.get_object()
        after = session.last_seq
        continue_run(session_id=session.pk, user=person(request))
        return self._accepted(session, after)

    @extend_schema(
        summary="Stop the run (within a second)",
        request=None,
        responses={200: SessionSerializer, **REFUSED},
    )
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: int) -> Response:
        session = stop_run(session_id=self.get_object().pk, user=person(request))
        return Response(SessionSerializer(session).data)

    @extend_schema(
        summary="Change the mode",
        request=ModeSerializer,
        responses={200: SessionSerializer, **REFUSED},
    )
    @action(detail=True, methods=["post"])
    def mode(self, request: Request, pk: int) -> Response:
        given = ModeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        session = change_mode(session_id=self.get_object().pk, mode=given.validated_data["mode"])
        return Response(SessionSerializer(session).data)

    @extend_schema(
        summary="Override budgets (null: the mode's)",
        request=BudgetsSerializer,
        responses={200: SessionSerializer, **REFUSED},
    )
    @action(detail=True, methods=["post"])
    def budgets(self, request: Request, pk: int) -> Response:
        given = BudgetsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        session = set_budgets(session_id=self.get_object().pk, limits=given.validated_data)
        return Response(SessionSerializer(session).data)

    @extend_schema(
        summary="Stored events after a seq, in order (fill a gap, replay a session)",
        parameters=[EventsQuerySerializer],
        responses={200: EventsPageSerializer},
    )
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: int) -> Response:
        session = self.get_object()
        query = EventsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        page = events_after(session.pk, after, limit=limit)
        next_after = page[-1]["seq"] if page else after
        return Response(
            {
                "events": page,
                "last_seq": session.last_seq,
                "next_after": next_after,
                "has_more": next_after < session.last_seq,
            }
        )

    def _accepted(self, session: ChatSession, after: int) -> Response:
        session.refresh_from_db()
        return Response(
            {"session": SessionSerializer(session).data, "after": after},
            status=status.HTTP_202_ACCEPTED,
        )
