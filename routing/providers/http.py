"""Providers over HTTP: any OpenAI-compatible server, and OpenRouter.

Every request has a (connect, read) timeout. 429, 408 and 5xx are retried with exponential
backoff, honouring `Retry-After`; a wait longer than the configured maximum is not waited
out, the error is raised instead. A read timeout is not retried: the request may have been
billed. The API key goes in a header and nowhere else: never into a message, a log, a repr.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar

import requests
import urllib3

from config.retry_after import retry_after_seconds
from routing.errors import (
    NoProviderForConstraints,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderOutOfCredits,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    StreamInterrupted,
)
from routing.providers.base import Provider, ProviderStream
from routing.providers.sse import (
    DONE,
    StreamAssembler,
    error_message,
    iter_events,
    iter_lines,
    parse_completion,
    parse_json,
)
from routing.types import ProviderRequest

RETRYABLE_STATUSES = {408, 429, 500, 502, 503, 504}
BACKOFF_BASE_SECONDS = 0.5
# After [DONE] the answer is whole; what follows is read only so the connection can be kept.
# A server that holds the body open past it gets this long, not the whole read timeout.
DRAIN_SECONDS = 1.0

# The request is prepared from a template, not through the session, so none of the session's
# default headers go out: these say who is calling and what we read.
IDENTITY_HEADERS = {
    "User-Agent": f"juggernaut {requests.utils.default_user_agent()}",
    "Accept": "application/json, text/event-stream",
}

_idle_sessions: queue.SimpleQueue[requests.Session] = queue.SimpleQueue()


@contextmanager
def _pooled_session() -> Iterator[requests.Session]:
    """A session no other thread is using, with its kept-alive connections to the upstream.

    Under ASGI every request runs in a new thread, so a per-thread session would open a new
    connection per call; a shared pool keeps the handshake out of the hot path.
    """
    try:
        session = _idle_sessions.get_nowait()
    except queue.Empty:
        session = requests.Session()
        session.trust_env = False  # read once instead, by _environment
    try:
        yield session
    finally:
        _idle_sessions.put(session)


@lru_cache(maxsize=32)
def _environment(
    url: str,
) -> tuple[MutableMapping[str, str], bool | str | None, tuple[str, str] | None]:
    """The proxies, CA bundle and .netrc login the environment gives `url`.

    A session that trusts the environment reads every variable (and ~/.netrc) again on
    every request, ~0.2 ms of a call; the pooled sessions read it once per URL instead.
    """
    with requests.Session() as probe:
        merged = probe.merge_environment_settings(url, {}, None, None, None)
    return merged["proxies"], merged["verify"], requests.utils.get_netrc_auth(url)


@lru_cache(maxsize=32)
def _post_template(
    url: str, headers: tuple[tuple[str, str], ...], login: tuple[str, str] | None
) -> requests.PreparedRequest:
    return requests.Request("POST", url, headers=dict(headers), auth=login).prepare()


def _prepared_post(
    url: str, headers: dict[str, str], data: bytes, login: tuple[str, str] | None
) -> requests.PreparedRequest:
    """A POST ready for `Session.send`, from a template kept per URL and headers.

    `Session.post` parses the URL and merges the session's cookies and settings into every
    request, ~0.13 ms of a call (measured against the fake upstream); the upstream's URL and
    our headers do not change between calls, so only the body is prepared each time. No
    cookies are sent: the API needs none."""
    prepared = _post_template(url, tuple(sorted(headers.items())), login).copy()
    prepared.prepare_body(data, None)
    return prepared


def _shorten_reads(response: requests.Response, seconds: float) -> None:
    """Give the rest of this response `seconds` per read. urllib3 sets the socket's timeout
    again for the connection's next request, so the shortening ends with this response."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(seconds)


# At most this much per read of a body that is not chunked; less when less has arrived.
READ_SIZE = 64 * 1024


def _arrived(raw: urllib3.response.BaseHTTPResponse) -> Iterator[bytes]:
    """The body's bytes as they arrive (`read1`), each read bounded by the read timeout;
    urllib3's errors become requests' own, as `iter_content` raises them."""
    try:
        while data := raw.read1(READ_SIZE):
            yield data
    except urllib3.exceptions.HTTPError as exc:
        raise requests.exceptions.ConnectionError(exc) from None


def _json_number(value: Decimal) -> int | float:
    """A dollar amount for a JSON body: exact when whole, a float otherwise."""
    return int(value) if value == value.to_integral_value() else float(value)


class OpenAICompatibleProvider(Provider):
    name: ClassVar[str] = "openai_compatible"
    label: ClassVar[str] = "OpenAI-compatible server"
    retryable_statuses: ClassVar[set[int]] = RETRYABLE_STATUSES

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        stream_timeout: float = 600.0,
        max_retries: int = 2,
        max_retry_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        # The read timeout bounds each wait; this bounds a whole streamed answer, which a
        # server could otherwise keep open for ever with keep-alive comments.
        self.stream_timeout = stream_timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep
        self._session = session

    @property
    def display_name(self) -> str:
        return f"The OpenAI-compatible server at {self.base_url}"

    def _borrow_session(self) -> AbstractContextManager[requests.Session]:
        return nullcontext(self._session) if self._session else _pooled_session()

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **IDENTITY_HEADERS}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        body: dict[str, Any] = {**request.extra, "model": request.model}
        body["messages"] = request.messages
        body["stream"] = request.stream
        if request.tools:
            body["tools"] = request.tools
        if request.max_tokens:
            body["max_tokens"] = request.max_tokens
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def send(self, request: ProviderRequest) -> ProviderStream:
        with self._borrow_session() as session:
            response, attempts = self._post(
                session, self.body(request), stream=request.stream, limit=request.max_attempts
            )
            if not request.stream:
                with response:
                    try:
                        body = parse_json(response.text)
                    except ValueError:
                        body = None
                    return parse_completion(body, attempts=attempts, fallback_model=request.model)
            return (yield from self._read_stream(response, attempts, request.model))

    def _read_stream(
        self, response: requests.Response, attempts: int, model: str
    ) -> ProviderStream:
        assembler = StreamAssembler()
        chunks = self._within_deadline(self._chunks(response), assembler, attempts)
        with response:
            try:
                for data in iter_events(iter_lines(chunks)):
                    if assembler.done:
                        continue
                    if data.strip() == DONE:
                        # Read on to the body's end (with chunked encoding, a last empty
                        # chunk right behind [DONE]): a body left unread costs the pooled
                        # connection, and the next call would open a new one (a TLS
                        # handshake, against OpenRouter).
                        assembler.done = True
                        _shorten_reads(response, DRAIN_SECONDS)
                        continue
                    try:
                        payload = parse_json(data)
                    except ValueError:
                        continue
                    if isinstance(payload, dict):
                        yield from assembler.feed(payload)
            except requests.exceptions.RequestException as exc:
                # After [DONE] the answer is whole: a body cut short past it costs only the
                # connection (closed instead of pooled), never the answer.
                if not assembler.done:
                    raise StreamInterrupted(
                        f"{self.display_name} closed the stream mid-answer "
                        f"({type(exc).__name__}); the partial answer was dropped. Retry the "
                        "call; if it keeps happening, the provider or the network between is "
                        "failing.",
                        attempts=attempts,
                    ) from None
        if not assembler.finished:
            raise StreamInterrupted(
                f"{self.display_name} ended the stream before it finished the answer. Retry "
                "the call; if it keeps happening, the provider or the network between is "
                "failing.",
                attempts=attempts,
            )
        return assembler.result(attempts=attempts, fallback_model=model)

    def _within_deadline(
        self, chunks: Iterator[bytes], assembler: StreamAssembler, attempts: int
    ) -> Iterator[bytes]:
        deadline = time.monotonic() + self.stream_timeout
        for chunk in chunks:
            yield chunk  # a chunk that came is used: it may be the one that ends the answer
            if time.monotonic() <= deadline:
                continue
            if assembler.finished:
                return  # the answer is whole; what would follow is not worth the wait
            raise ProviderTimeout(
                f"{self.display_name} did not finish the answer within "
                f"{self.stream_timeout:g}s (ROUTING_STREAM_TIMEOUT); the partial answer "
                "was dropped. Ask for a shorter answer (max_tokens), or raise the limit.",
                attempts=attempts,
            )

    @staticmethod
    def _chunks(response: requests.Response) -> Iterator[bytes]:
        raw = response.raw
        if raw.chunked and raw.supports_chunked_reads():
            # Each chunk of a chunked body as it arrives.
            return response.iter_content(chunk_size=None)
        # A body with a Content-Length, or one that ends when the server closes the
        # connection (legal HTTP/1.1 without chunked encoding): iter_content(None) would
        # read it whole before handing over a byte, so read what has arrived instead.
        return _arrived(raw)

    def _post(
        self, session: requests.Session, body: dict[str, Any], *, stream: bool, limit: int | None
    ) -> tuple[requests.Response, int]:
        """The 200 response and how many requests it took: retries up to `max_retries`, and
        never more than `limit` requests in all (what the call has left of its bound)."""
        url = f"{self.base_url}/chat/completions"
        data = json.dumps(body, default=_json_default).encode()
        proxies, verify, netrc_login = _environment(url)
        attempts = 0
        while True:
            attempts += 1
            try:
                response = session.send(
                    _prepared_post(url, self.headers(), data, netrc_login),
                    timeout=self.timeout,
                    stream=stream,
                    proxies=proxies,
                    verify=verify,
                    # requests would turn a redirected POST into a GET: a redirect is an error.
                    allow_redirects=False,
                )
            except requests.exceptions.ConnectTimeout:
                error: ProviderError = ProviderUnavailable(
                    f"{self.display_name} did not accept a connection within {self.timeout[0]}s.",
                    attempts=attempts,
                )
                retry_after = None
            except requests.exceptions.Timeout:
                raise ProviderTimeout(
                    f"{self.display_name} sent no answer within {self.timeout[1]}s; "
                    "not retried, as the request may have been billed.",
                    attempts=attempts,
                ) from None
            except requests.exceptions.RequestException as exc:
                error = ProviderUnavailable(
                    f"{self.display_name} could not be reached ({type(exc).__name__}).",
                    attempts=attempts,
                )
                retry_after = None
            else:
                if response.status_code == 200:
                    return response, attempts
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                with response:
                    error = self.error_for(response, attempts=attempts, retry_after=retry_after)
                if response.status_code not in self.retryable_statuses:
                    raise error
            if attempts > self.max_retries or (limit is not None and attempts >= limit):
                raise error
            wait = retry_after if retry_after is not None else self._backoff(attempts)
            if wait > self.max_retry_wait:
                raise error
            self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        return min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), self.max_retry_wait)

    def error_for(
        self, response: requests.Response, *, attempts: int, retry_after: float | None
    ) -> ProviderError:
        status = response.status_code
        try:
            payload = parse_json(response.text)
            detail = error_message(payload) if isinstance(payload, dict) else response.text
        except ValueError:
            detail = response.text
        detail = detail[:300] or response.reason or "no detail"
        who = self.display_name
        if status == 401:
            return ProviderAuthError(
                f"{who} rejected the API key (401: {detail}). Check the key in the settings; "
                "it is never shown here.",
                attempts=attempts,
            )
        if status == 402:
            return ProviderOutOfCredits(
                f"{who} says the account or key has insufficient credits (402: {detail}). "
                "Add credits or raise the key's limit, then retry.",
                attempts=attempts,
            )
        if status == 429:
            wait = f" It asked to wait {retry_after:g}s." if retry_after is not None else ""
            return ProviderRateLimited(
                f"{who} rate-limited the call (429: {detail}).{wait}",
                attempts=attempts,
                retry_after=retry_after,
            )
        if status == 408:
            return ProviderTimeout(
                f"{who} timed out the request (408: {detail}).", attempts=attempts
            )
        if status >= 500:
            return ProviderUnavailable(
                f"{who} failed with {status}: {detail}. The model may be down.", attempts=attempts
            )
        return ProviderBadRequest(
            f"{who} refused the request ({status}: {detail}).", attempts=attempts
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _json_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class OpenRouterProvider(OpenAICompatibleProvider):
    name: ClassVar[str] = "openrouter"
    label: ClassVar[str] = "OpenRouter"
    needs_prices: ClassVar[bool] = True
    routes_server_side: ClassVar[bool] = True
    # 503 means no provider meets the constraints (price cap, tools): retrying cannot help.
    retryable_statuses: ClassVar[set[int]] = RETRYABLE_STATUSES - {503}

    def __init__(self, *, referer: str = "", title: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.referer = referer
        self.title = title

    @property
    def display_name(self) -> str:
        return "OpenRouter"

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.referer:
            headers["HTTP-Referer"] = self.referer
        if self.title:
            headers["X-Title"] = self.title
        return headers

    def body(self, request: ProviderRequest) -> dict[str, Any]:
        body = super().body(request)
        body.pop("stream_options", None)
        if request.fallback_models:
            body["models"] = [request.model, *request.fallback_models]
        preferences: dict[str, Any] = {}
        if request.max_price_per_1k is not None:
            # OpenRouter takes the cap in dollars per million tokens.
            per_million = request.max_price_per_1k * 1000
            preferences["max_price"] = {"prompt": per_million, "completion": per_million}
        if request.tools:
            preferences["require_parameters"] = True
        if preferences:
            body["provider"] = preferences
        body["usage"] = {"include": True}
        return body

    def error_for(
        self, response: requests.Response, *, attempts: int, retry_after: float | None
    ) -> ProviderError:
        if response.status_code == 503:
            return NoProviderForConstraints(
                "OpenRouter has no provider that meets this call's constraints (503): the "
                "price cap, tool support or context window rule them all out. Raise the "
                "policy's price cap or choose another model.",
                attempts=attempts,
            )
        return super().error_for(response, attempts=attempts, retry_after=retry_after)
