"""The stream-event contract as JSON, for clients that validate what they receive."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.api.views import IsPerson
from chat.events import schema_document


class EventSchemaView(APIView):
    permission_classes = [IsPerson]

    @extend_schema(summary="The stream-event types and their fields", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(schema_document())
