"""A fast path for the gateway under ASGI: `/v1/` served on long-lived worker threads.

Why: Django's ASGI handler runs each request in a new thread (so with a new database
connection) and hops threads twice per middleware; on this project that costs several
milliseconds per request before the view starts (measured by bench/gateway.py), more than the
whole budget the gateway has. The gateway needs none of the dashboard's middleware (sessions,
CSRF, messages, the login redirect, frame options): it authenticates API tokens through DRF.

So this wraps the project's ASGI app. Requests whose path resolves to a gateway view run the
same DRF views, on a worker thread that keeps its database connection and HTTP pool between
requests, with Django's request_started/request_finished signals (which close stale
connections) and host validation; a streamed answer is read on the same thread, chunk by
chunk, and closed if the client goes away. Every other request goes to the wrapped app.

Wire it in config/asgi.py: ``http_app = GatewayFastPath(http_app)``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from io import BytesIO
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.core.signals import setting_changed
from django.db import connections
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.urls import Resolver404, ResolverMatch, resolve

from routing.gateway.formats import TOO_LARGE, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WORKER_SCOPE_KEY = "juggernaut.gateway_worker"
GATEWAY_NAMESPACE = "gateway"
logger = logging.getLogger(__name__)


class _Workers:
    """Single-thread executors, one per request in flight, kept for the next request: a
    request's view, its stream and its settlement all run on one thread, the one that holds
    its database connection. The most recently used idle worker goes first: its connection
    was used within the second, so it skips the health check (_trust_recent_connections),
    and its memory is still in the CPU's caches; after a burst, the rest stay idle."""

    def __init__(self) -> None:
        # deque.append and deque.pop are atomic: no lock needed between the event loop and
        # the threads that close workers.
        self._idle: deque[ThreadPoolExecutor] = deque()
        # Workers still busy with a request the server gave up on, with the job that ends them.
        self._abandoned: list[tuple[ThreadPoolExecutor, Future[None]]] = []

    def acquire(self) -> ThreadPoolExecutor:
        try:
            return self._idle.pop()
        except IndexError:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway")

    def release(self, worker: ThreadPoolExecutor) -> None:
        # No more idle threads than the process may hold database connections: a burst
        # leaves no crowd of threads behind it (each kept its connection before the pool).
        if len(self._idle) >= settings.DATABASE_POOL_MAX:
            _retire(worker)
        else:
            self._idle.append(worker)

    def abandon(self, worker: ThreadPoolExecutor) -> None:
        """Never reuse a worker whose request was cancelled while it still works on it (its
        view, or a chunk of its stream, waiting on the upstream): the next request would wait
        behind it. It finishes what it was given, closes its connections and ends."""
        ended = worker.submit(connections.close_all)
        worker.shutdown(wait=False)
        self._abandoned = [(w, done) for w, done in self._abandoned if not done.done()]
        self._abandoned.append((worker, ended))

    def close(self) -> None:
        for worker, _ in self._abandoned:
            worker.shutdown(wait=True)
        self._abandoned = []
        while True:
            try:
                _retire(self._idle.pop())
            except IndexError:
                return


def _retire(worker: ThreadPoolExecutor) -> None:
    """Close the thread's database connections, then let the thread end."""
    worker.submit(connections.close_all).result()
    worker.shutdown(wait=True)


@lru_cache(maxsize=1024)
def _gateway_match(path: str) -> ResolverMatch | None:
    """The gateway view a path resolves to, if any. Kept per path: resolving walked the
    project's URL patterns on every call (a tenth of the gateway's own time in a profile).
    The URLconf does not change while the process runs."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if match.namespace == GATEWAY_NAMESPACE else None


@receiver(setting_changed)
def _forget_matches(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":  # tests swap URLconfs; Django clears its caches the same way
        _gateway_match.cache_clear()


def _respond(scope: Scope, body: bytes) -> HttpResponseBase:
    """Runs on a worker thread: the request through the gateway's DRF view. The caller
    closes the response (which sends request_finished) on the same thread once it is sent,
    or could not be, as a server does."""
    signals.request_started.send(sender=GatewayFastPath, scope=scope)
    _trust_recent_connections()
    try:
        request = ASGIRequest(scope, BytesIO(body))
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would check it
        match = _gateway_match(request.path_info)
        response: HttpResponseBase
        if match is None:  # a root_path that moved the view out of the gateway's reach
            response = _error(404, "No such endpoint.", type_="invalid_request_error")
        else:
            response = match.func(request, *match.args, **match.kwargs)
        render = getattr(response, "render", None)
        if callable(render):
            response = render()
    except DisallowedHost:
        response = _error(400, "The Host header is not allowed.", type_="invalid_request_error")
    except Exception:  # the boundary: log it, answer 500, keep serving
        logger.exception("gateway fast path: unhandled error")
        response = _error(500, "The gateway failed on this request.", type_="server_error")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _error(status: int, message: str, *, type_: str) -> JsonResponse:
    """OpenAI's error shape, which client libraries read whatever the status."""
    return JsonResponse(error_body(message, type_=type_, code=None), status=status)


# A connection this thread used this recently is taken as alive without CONN_HEALTH_CHECKS'
# SELECT 1, which request_started asks for on every request: on PostgreSQL that round trip
# was a tenth of the gateway's budget. A connection that died within the window fails the
# request's first query (an answer of 500, and Django drops the connection); the next
# request connects afresh.
RECENT_USE_SECONDS = 1.0
_last_use = threading.local()


def _trust_recent_connections() -> None:
    now = time.monotonic()
    if now - getattr(_last_use, "at", float("-inf")) < RECENT_USE_SECONDS:
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None and not connection.errors_occurred:
                # Django's own flag (since 4.1), which django-stubs does not declare.
                connection.health_check_done = True  # type: ignore[attr-defined]
    _last_use.at = now


def _next_part(parts: Iterator[bytes]) -> bytes | None:
    return next(parts, None)


def _close(response: HttpResponseBase) -> None:
    response.close()


def _close_result(pending: Future[HttpResponseBase]) -> None:
    if not pending.cancelled() and pending.exception() is None:
        _close(pending.result())


async def _respond_on(worker: ThreadPoolExecutor, scope: Scope, body: bytes) -> HttpResponseBase:
    """`_respond` on the worker. Should the server cancel this request meanwhile (Daphne does,
    10 s after its client left), the view runs on: its response is then closed on the worker
    once it comes, so a held settlement is still written and request_finished still sent."""
    pending = worker.submit(_respond, scope, body)
    try:
        return await asyncio.wrap_future(pending)
    except asyncio.CancelledError:
        worker.submit(_close_result, pending)  # the worker runs its jobs in order
        raise


async def _close_on(worker: ThreadPoolExecutor, response: HttpResponseBase) -> None:
    """Close a response on its worker (which settles a held call and sends request_finished),
    whether it was sent whole, cut short or not sent at all. Queued before this waits, so a
    cancellation of the wait does not stop it."""
    await asyncio.shield(asyncio.wrap_future(worker.submit(_close, response)))


def _headers(response: HttpResponseBase) -> list[tuple[bytes, bytes]]:
    if isinstance(response, HttpResponse) and "Content-Length" not in response:
        response["Content-Length"] = str(len(response.content))
    return [(name.encode("ascii"), value.encode("latin1")) for name, value in response.items()]


# Without Django's limit (DATA_UPLOAD_MAX_MEMORY_SIZE = None) the gateway still reads no more
# than this: nobody, signed in or not, can make the process hold gigabytes.
MAX_BODY_BYTES = 10 * 1024 * 1024


def max_body_bytes() -> int:
    """The largest body the gateway reads, Django's own limit (2.5 MiB unless set; a
    128k-token prompt is about 0.5 MB of JSON), so that both ways in refuse the same bodies
    with the same 413."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return MAX_BODY_BYTES if limit is None else int(limit)


class BodyTooLarge(Exception):
    pass


async def _read_body(receive: Receive, *, declared: int | None) -> bytes | None:
    limit = max_body_bytes()
    if declared is not None and declared > limit:
        raise BodyTooLarge
    parts = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_too_large(send: Send) -> None:
    body = json.dumps(
        error_body(
            TOO_LARGE.format(size=max_body_bytes()),
            type_="invalid_request_error",
            code="request_too_large",
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GatewayFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.workers = _Workers()

    def close(self) -> None:
        """Stop the idle workers and close their connections (tests; a clean shutdown)."""
        self.workers.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _gateway_match(scope["path"]) is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive, declared=_declared_length(scope))
        except BodyTooLarge:
            await _send_too_large(send)
            return
        if body is None:
            return
        worker = self.workers.acquire()
        cancelled = False
        try:
            headers = list(scope.get("headers") or [])
            if not any(name.lower() == b"content-length" for name, _ in headers):
                # A chunked upload has no length; the body is whole now, so give it one.
                headers.append((b"content-length", str(len(body)).encode()))
            scope = {**scope, "headers": headers, WORKER_SCOPE_KEY: True}
            response = await _respond_on(worker, scope, body)
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": _headers(response),
                    }
                )
                if isinstance(response, StreamingHttpResponse):
                    await self._stream(response, worker, receive, send)
                else:
                    body = response.content if isinstance(response, HttpResponse) else b""
                    await send({"type": "http.response.body", "body": body})
            finally:
                await _close_on(worker, response)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            if cancelled:
                self.workers.abandon(worker)
            else:
                self.workers.release(worker)

    async def _stream(
        self,
        response: StreamingHttpResponse,
        worker: ThreadPoolExecutor,
        receive: Receive,
        send: Send,
    ) -> None:
        loop = asyncio.get_running_loop()
        parts = iter(response)
        gone = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            while True:
                step = loop.run_in_executor(worker, _next_part, parts)
                racing: set[asyncio.Future[Any]] = {step, gone}
                await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
                part = await step  # a step under way finishes before the stream is closed
                if part is None or gone.done():
                    break
                await send({"type": "http.response.body", "body": part, "more_body": True})
            if not gone.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        continue
