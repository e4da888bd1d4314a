"""``POST /api/logs/ingest/``: batches of entries pushed by an application or a shipper."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from logcrawler.api.serializers import IngestResponseSerializer
from logcrawler.services import ingest_batch, ingest_source
from logcrawler.sources.http import PayloadError, UnsupportedMediaType

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _too_large(limit: int) -> Response:
    return Response(
        {"detail": f"The body is larger than {limit} bytes; send smaller batches."},
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


class IngestView(APIView):
    # The body is read here, raw, so that its size is checked before it is parsed.
    parser_classes: list[type] = []

    @extend_schema(
        summary="Ingest a batch of log entries",
        description=(
            'A JSON array (or {"entries": [...]}) of objects with `message` and optional '
            "`timestamp`, `level`, `service`, `attributes`, or of raw log lines as strings; "
            "NDJSON (`application/x-ndjson`); or plain text, one raw line per line. Bad "
            "entries are reported by index and the good ones kept. With an "
            "`Idempotency-Key` header, a retried batch is answered as the first time and "
            "stored once."
        ),
        request={"application/json": dict, "application/x-ndjson": str, "text/plain": str},
        parameters=[
            OpenApiParameter("source", str, description="An HTTP source's name (default http)."),
            OpenApiParameter("service", str, description="Service for entries naming none."),
            OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER),
        ],
        responses={
            201: IngestResponseSerializer,
            200: OpenApiResponse(IngestResponseSerializer, description="Replayed by key."),
            400: OpenApiResponse(description="Not readable, or no valid entry."),
            413: OpenApiResponse(description="Body over LOGCRAWLER_INGEST_MAX_BYTES."),
            415: OpenApiResponse(description="Unsupported Content-Type."),
        },
    )
    def post(self, request: Request) -> Response:
        limit = settings.LOGCRAWLER_INGEST_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit:
            return _too_large(limit)
        body = request._request.read(limit + 1)
        if len(body) > limit:
            return _too_large(limit)
        source = ingest_source(str(request.query_params.get("source", "")))
        try:
            reply = ingest_batch(
                source=source,
                body=body,
                content_type=request.content_type or "",
                service=str(request.query_params.get("service", ""))[:100],
                idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
            )
        except UnsupportedMediaType as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        except PayloadError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        response = Response(reply.body, status=reply.status)
        if reply.replayed:
            response["Idempotent-Replayed"] = "true"
        return response
