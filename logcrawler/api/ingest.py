"""``POST /api/logs/ingest/``: batches of entries pushed by an application or a shipper."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from logcrawler.api.serializers import IngestResponseSerializer
from logcrawler.services import ingest_batch, ingest_source
from logcrawler.sources.http import (
    MAX_SERVICE_CHARS,
    PayloadError,
    TooManyEntries,
    UnsupportedMediaType,
    control_characters_problem,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _too_large(limit: int) -> Response:
    return Response(
        {
            "detail": f"The body is larger than {limit} bytes (LOGCRAWLER_INGEST_MAX_BYTES); "
            "send smaller batches.",
            "code": "body_too_large",
            "limit": limit,
        },
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def _query_text(request: Request, name: str, *, max_chars: int) -> str:
    """A query parameter that names something stored as text: no control characters (a NUL
    cannot be stored in PostgreSQL), not too long; otherwise a 400 naming the parameter."""
    value = str(request.query_params.get(name, ""))
    problem = control_characters_problem(name, value)
    if not problem and len(value) > max_chars:
        problem = f"{name} must be at most {max_chars} characters"
    if problem:
        raise serializers.ValidationError({name: [problem]})
    return value


class IngestView(APIView):
    # The body is read here, raw, so that its size is checked before it is parsed.
    parser_classes: list[type] = []
    throttle_scope = "ingest"  # API_RATE_INGEST, not the general per-user rate

    @extend_schema(
        summary="Ingest a batch of log entries",
        description=(
            'A JSON array (or {"entries": [...]}) of objects with `message` and optional '
            "`timestamp`, `level`, `service`, `attributes`, or of raw log lines as strings; "
            "NDJSON (`application/x-ndjson`); or plain text, one raw line per line. Bad "
            "entries are reported by index and the good ones kept. At most "
            "LOGCRAWLER_INGEST_MAX_ENTRIES entries and LOGCRAWLER_INGEST_MAX_BYTES bytes a "
            "request (413 naming the limit). With an `Idempotency-Key` header, a retried "
            "batch is answered as the first time (201, `replayed: true`) and stored once."
        ),
        request={"application/json": dict, "application/x-ndjson": str, "text/plain": str},
        parameters=[
            OpenApiParameter("source", str, description="An HTTP source's name (default http)."),
            OpenApiParameter(
                "service",
                str,
                description="Service for entries naming none (no control characters).",
            ),
            OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER),
        ],
        responses={
            201: OpenApiResponse(
                IngestResponseSerializer, description="Stored, or replayed by its key."
            ),
            400: OpenApiResponse(
                description="Not readable, no valid entry, or a bad `service` or `source`."
            ),
            413: OpenApiResponse(
                description="Over LOGCRAWLER_INGEST_MAX_BYTES or LOGCRAWLER_INGEST_MAX_ENTRIES."
            ),
            415: OpenApiResponse(description="Unsupported Content-Type."),
            422: OpenApiResponse(
                description="The Idempotency-Key was already used for a different batch."
            ),
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
        service = _query_text(request, "service", max_chars=MAX_SERVICE_CHARS)
        source = ingest_source(_query_text(request, "source", max_chars=100))
        try:
            reply = ingest_batch(
                source=source,
                body=body,
                content_type=request.content_type or "",
                service=service,
                idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
            )
        except UnsupportedMediaType as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        except TooManyEntries as exc:
            return Response(
                {"detail": str(exc), "code": "too_many_entries", "limit": exc.limit},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        except PayloadError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        response = Response(reply.body, status=reply.status)
        if reply.replayed:
            response["Idempotent-Replayed"] = "true"
        return response
