"""POST /v1/chat/completions and GET /v1/models, as OpenAI serves them.

Authentication is DRF's default (the project's API tokens, `Authorization: Bearer <token>`);
every error, a 401 included, comes back in OpenAI's error shape.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any, NoReturn

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponseBase, StreamingHttpResponse
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from routing.errors import RoutingError
from routing.gateway import throttle
from routing.gateway.asgi import WORKER_SCOPE_KEY
from routing.gateway.formats import (
    TOO_LARGE,
    ChunkWriter,
    completion_body,
    error_body,
    models_body,
)
from routing.gateway.parsing import MODE_PREFIX, ChatRequest, parse_chat_request
from routing.services import CompletionStream, complete, stream_completion
from routing.services.budgets import HeldSettlements
from routing.services.policies import ModePolicies
from routing.sessions import gateway_session_ref

SOURCE = "gateway"
TOKEN_PREFIX_CHARS = 10  # what engine keeps as ApiToken.prefix
INTERNAL_ERROR = error_body(
    "The gateway failed on this request; it is logged. Retry, and if it keeps failing tell "
    "the operator.",
    type_="server_error",
    code="internal_error",
)
logger = logging.getLogger(__name__)


def _error_response(exc: Exception) -> Response:
    if isinstance(exc, RoutingError):
        body = error_body(str(exc), type_=exc.error_type, code=exc.code, param=exc.param)
        response = Response(body, status=exc.status_code)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response["Retry-After"] = str(max(math.ceil(retry_after), 1))
        return response
    if isinstance(exc, RequestDataTooBig):
        message = TOO_LARGE.format(size=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        body = error_body(message, type_="invalid_request_error", code="request_too_large")
        return Response(body, status=413)
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        body = error_body(
            f"{exc.detail} Send 'Authorization: Bearer <API token>'.",
            type_="invalid_request_error",
            code="invalid_api_key",
        )
        return Response(body, status=401, headers={"WWW-Authenticate": "Bearer"})
    body = error_body(str(exc.detail), type_="invalid_request_error", code=exc.default_code)
    return Response(body, status=exc.status_code)


class JSONOnly(BaseContentNegotiation):
    """OpenAI's API speaks JSON both ways whatever the Accept header says; skipping the
    negotiation is a few percent of the gateway's own time."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0]

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


class BoundedJSONParser(JSONParser):
    """JSON nested past Python's recursion limit is a bad request, not a crash (the json
    module raises RecursionError, which DRF's parser does not turn into a ParseError)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class OpenAIView(APIView):
    schema = None  # OpenAI's own API reference documents these; keep them out of ours
    content_negotiation_class = JSONOnly
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes: list[Any] = []

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RoutingError | exceptions.APIException | RequestDataTooBig):
            return _error_response(exc)
        # A client library reads the error body whatever the status: keep OpenAI's shape.
        logger.exception("gateway: unhandled error")
        return Response(INTERNAL_ERROR, status=500)

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        # DRF answers 403 when no authenticator offers a challenge; OpenAI clients expect 401.
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated()
        super().permission_denied(request, message=message, code=code)


class SettledAfterSending(Response):
    """A completion whose ledger row is written once the answer is out: a server closes a
    response after sending it, so the client does not wait for the settlement. The call's
    reservation counts against the ceilings until then."""

    def __init__(self, data: dict[str, Any], *, held: HeldSettlements) -> None:
        super().__init__(data)
        self.held = held

    def close(self) -> None:
        try:
            _settle_quietly(self.held)
        finally:
            super().close()


def _settle_quietly(held: HeldSettlements) -> None:
    """Settle what the call held back; a failure is logged, never put in place of the
    answer or of the error the client is owed (the reservation lapses on its own)."""
    try:
        held.settle_all()
    except Exception:
        logger.exception("gateway: settling a call after its answer failed")


class ChatCompletionsView(OpenAIView):
    def post(self, request: Request) -> HttpResponseBase:
        throttle.check_caller(user=request.user, token=request.auth)
        chat = parse_chat_request(
            request.data,
            mode_header=request.headers.get("X-Juggernaut-Mode", ""),
            session_header=request.headers.get("X-Juggernaut-Session", ""),
        )
        throttle.check_policy(mode=chat.mode)
        session_ref = (
            gateway_session_ref(chat.session_ref, user=request.user) if chat.session_ref else ""
        )
        # One id for the whole answer, every chunk of a stream included; the ledger row
        # carries it as request_id.
        response_id = f"chatcmpl-{uuid.uuid4().hex}"
        held = HeldSettlements()
        call: dict[str, Any] = {
            "mode": chat.mode,
            "messages": chat.messages,
            "tools": chat.tools,
            "model": chat.model,
            "session_ref": session_ref,
            "max_tokens": chat.max_tokens,
            "extra": chat.extra,
            "source": SOURCE,
            "request_id": response_id,
            "held": held,
            "user_id": request.user.pk,
            "api_token_prefix": _token_prefix(request.auth),
        }
        try:
            if not chat.stream:
                completion = complete(**call)
                body = completion_body(completion, response_id=response_id)
                return SettledAfterSending(body, held=held)
            stream = stream_completion(**call)
        except BaseException:
            _settle_quietly(held)  # a refusal or failure is on the ledger before its error
            raise
        events = _Events(_sse(stream, chat, response_id=response_id, held=held), stream, held)
        content: Iterator[bytes] | AsyncIterator[bytes] = events
        django_request = request._request
        # Under Django's own ASGI handler the chunks must come from an async iterator, or
        # Django reads the whole stream before sending a byte; the fast path reads it sync.
        if isinstance(django_request, ASGIRequest) and not django_request.scope.get(
            WORKER_SCOPE_KEY
        ):
            content = _async(events)
        response = StreamingHttpResponse(content, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


def _token_prefix(token: Any) -> str:
    """The part of an API token the ledger names it by (the token's own `prefix`)."""
    return token[:TOKEN_PREFIX_CHARS] if isinstance(token, str) else ""


def _sse(
    stream: CompletionStream, chat: ChatRequest, *, response_id: str, held: HeldSettlements
) -> Generator[bytes, None, None]:
    # Until the closing chunk names the model that answered, chunks echo what was asked for.
    writer = ChunkWriter(stream_id=response_id, model=chat.model or f"{MODE_PREFIX}{chat.mode}")
    try:
        yield writer.opening()
        for delta in stream:
            yield writer.delta(delta)
        completion = stream.completion
        assert completion is not None
        yield writer.closing(completion)
        if chat.include_usage:
            yield writer.usage(completion)
        yield writer.done()
    except RoutingError as exc:
        # Headers are gone already: OpenAI reports a mid-stream failure as an error event.
        yield writer.error(str(exc), type_=exc.error_type, code=exc.code)
    except Exception:
        # A fault of ours mid-stream: without an error event a client would take the cut
        # answer for a whole one.
        logger.exception("gateway: unhandled error mid-stream")
        error = INTERNAL_ERROR["error"]
        yield writer.error(error["message"], type_=error["type"], code=error["code"])
    finally:
        stream.close()
        _settle_quietly(held)


class _Events:
    """A stream's SSE body. Closing it ends the call and settles it even when no chunk was
    asked for yet (the server could not send the headers): a generator closed before it
    started runs none of its `finally`, so the call would be neither ended nor settled."""

    def __init__(
        self, parts: Generator[bytes, None, None], stream: CompletionStream, held: HeldSettlements
    ) -> None:
        self._parts, self._stream, self._held = parts, stream, held

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._parts)

    def close(self) -> None:
        try:
            self._parts.close()
        finally:
            try:
                self._stream.close()  # a no-op once `_sse` closed it
            finally:
                _settle_quietly(self._held)  # a no-op once `_sse` settled


async def _async(events: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Feeds a sync iterator to an ASGI server chunk by chunk (Django would otherwise read it
    whole before sending a byte), in the request's thread, where its DB connection lives."""
    step = sync_to_async(_next_or_none, thread_sensitive=True)
    try:
        while (part := await step(events)) is not None:
            yield part
    finally:
        await sync_to_async(_close, thread_sensitive=True)(events)


def _next_or_none(events: Iterator[bytes]) -> bytes | None:
    return next(events, None)


def _close(events: Any) -> None:
    events.close()


class ModelsView(OpenAIView):
    def get(self, request: Request) -> Response:
        models: list[str] = []
        for policy in ModePolicies().policies():
            models += [name for name in policy.models_in_order if name not in models]
        return Response(models_body(models))
