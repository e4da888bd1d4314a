"""Incidents over REST: list, detail, history, dismiss, mark applied, escalate a code-health
finding. The writes call the services, which check the permission
(`incidents.decide_incident`)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from codehealth.models import Finding
from config.api.fields import ErrorSerializer
from config.api.pagination import CursorPagination
from config.api.permissions import IsHumanUser, human_user
from incidents.api.serializers import (
    DismissSerializer,
    EscalateSerializer,
    IncidentDetailSerializer,
    IncidentEventSerializer,
    IncidentFilterSerializer,
    IncidentSerializer,
    MarkAppliedSerializer,
)
from incidents.models import Incident
from incidents.services import dismiss, escalate_finding, mark_applied

NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such incident.")
INVALID = OpenApiResponse(description="Invalid input; the body names the fields.")
CHANGE_RESPONSES = {
    200: IncidentDetailSerializer,
    400: INVALID,
    403: OpenApiResponse(ErrorSerializer, description="Lacks incidents.decide_incident."),
    404: NOT_FOUND,
    409: OpenApiResponse(ErrorSerializer, description="Not possible from its state."),
}


def _with_cost(incident: Incident) -> Incident:
    """A changed incident as the detail shows it: with its cost so far."""
    return Incident.objects.with_cost().get(pk=incident.pk)


class Newest(CursorPagination):
    ordering = ("-id",)
    page_size_query_param = "page_size"
    max_page_size = 200


class Oldest(Newest):
    ordering = ("id",)


@extend_schema_view(
    list=extend_schema(
        summary="List incidents, newest first",
        parameters=[IncidentFilterSerializer],
        responses={200: IncidentSerializer(many=True), 400: INVALID},
    ),
    retrieve=extend_schema(
        summary="An incident with its triage and links",
        responses={200: IncidentDetailSerializer, 404: NOT_FOUND},
    ),
)
class IncidentViewSet(viewsets.ReadOnlyModelViewSet[Incident]):
    permission_classes = [IsHumanUser]
    pagination_class = Newest
    lookup_value_converter = "int"

    def get_serializer_class(self) -> type[IncidentSerializer]:
        return IncidentDetailSerializer if self.action != "list" else IncidentSerializer

    def get_queryset(self) -> QuerySet[Incident]:
        incidents = Incident.objects.with_cost().prefetch_related("fingerprints")
        if self.action != "list":
            return incidents
        filters = IncidentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        given = filters.validated_data
        if given.get("state"):
            incidents = incidents.filter(state=given["state"])
        if given.get("source"):
            incidents = incidents.filter(source=given["source"])
        return incidents

    @extend_schema(
        summary="An incident's history: one row per change, with its actor",
        responses={200: IncidentEventSerializer(many=True), 400: INVALID, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=Oldest)
    def history(self, request: Request, pk: str) -> Response:
        incident = self.get_object()
        paginator = Oldest()
        page = paginator.paginate_queryset(incident.events.all(), request, view=self)
        return paginator.get_paginated_response(IncidentEventSerializer(page, many=True).data)

    @extend_schema(
        summary="Dismiss an incident, with a reason",
        request=DismissSerializer,
        responses=CHANGE_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        given = DismissSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        incident = dismiss(
            incident_id=self.get_object().pk,
            user=human_user(request),
            reason=given.validated_data["reason"],
        )
        return Response(IncidentDetailSerializer(_with_cost(incident)).data)

    @extend_schema(
        summary="Mark the fix applied: the verifier watches its groups from now",
        request=MarkAppliedSerializer,
        responses=CHANGE_RESPONSES,
    )
    @action(detail=True, methods=["post"], url_path="mark-applied")
    def mark_applied(self, request: Request, pk: str) -> Response:
        given = MarkAppliedSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        incident = mark_applied(
            incident_id=self.get_object().pk,
            user=human_user(request),
            note=given.validated_data["note"],
        )
        return Response(IncidentDetailSerializer(_with_cost(incident)).data)

    @extend_schema(
        summary="Escalate a code-health finding: its open incident, or a new one",
        request=EscalateSerializer,
        responses={
            200: OpenApiResponse(IncidentDetailSerializer, description="Its open incident."),
            201: OpenApiResponse(IncidentDetailSerializer, description="A new incident."),
            400: INVALID,
            403: OpenApiResponse(ErrorSerializer, description="Lacks incidents.decide_incident."),
            404: OpenApiResponse(ErrorSerializer, description="No such finding."),
            409: OpenApiResponse(ErrorSerializer, description="The finding is fixed."),
        },
    )
    @action(detail=False, methods=["post"])
    def escalate(self, request: Request) -> Response:
        given = EscalateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        finding = get_object_or_404(Finding, pk=given.validated_data["finding"])
        incident, created = escalate_finding(finding, user=human_user(request))
        return Response(
            IncidentDetailSerializer(_with_cost(incident)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
