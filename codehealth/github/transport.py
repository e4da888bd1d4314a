"""GitHubTransport: every request the client sends, with GitHub's rules applied on the way.

It pins ``X-GitHub-Api-Version``; sends the token only to the API's own origin (a ``Link``
to another host is refused, an artifact redirect is fetched without it); revalidates cached
GETs with ``If-None-Match`` (a 304 costs no quota and is answered from the cache); waits out
a rate limit when the wait is at most `max_wait` seconds and otherwise raises `RateLimited`;
and sends writes one at a time, at least `write_interval` apart, per token, as GitHub asks of
integrations. Time comes from the `clock` and `sleep` it is given, so tests need not sleep.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from codehealth.github.cache import CachedAnswer, ETagCache, MemoryETagCache
from codehealth.github.errors import GitHubError, RateLimited
from codehealth.github.ratelimit import RateLimitState, limit_hit, state_from
from codehealth.github.wire import (
    Answer,
    NoCredentials,
    TokenAuth,
    error_for,
    error_words,
    origin,
    shown,
)

API_VERSION = "2022-11-28"
DEFAULT_BASE_URL = "https://api.github.com"
JSON_MEDIA_TYPE = "application/vnd.github+json"
PAGE_SIZE = 100
REDIRECTS = frozenset({301, 302, 303, 307, 308})
READS = frozenset({"GET", "HEAD"})
_CACHED_HEADERS = ("content-type", "link")

logger = logging.getLogger("codehealth.github")


@dataclass
class TransportStats:
    requests: int = 0  # sent over the wire
    not_modified: int = 0  # 304s answered from the cache
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0


@dataclass
class _WriteGate:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_write: float = float("-inf")


# One gate per token and API, shared by every transport in the process that writes with it.
_gates: dict[str, _WriteGate] = {}
_gates_guard = threading.Lock()


def _gate(key: str) -> _WriteGate:
    with _gates_guard:
        return _gates.setdefault(key, _WriteGate())


class GitHubTransport:
    def __init__(
        self,
        *,
        token: str = "",
        base_url: str = DEFAULT_BASE_URL,
        cache: ETagCache | None = None,
        max_wait: float = 900.0,
        max_attempts: int = 4,
        write_interval: float = 1.0,
        timeout: float = 30.0,
        user_agent: str = "juggernaut-codehealth",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.cache: ETagCache = cache if cache is not None else MemoryETagCache()
        self.max_wait = max_wait
        self.max_attempts = max_attempts
        self.write_interval = write_interval
        self.timeout = timeout
        self.stats = TransportStats()
        self.rate_limit: RateLimitState | None = None
        self._clock = clock
        self._sleep = sleep
        self._auth = TokenAuth(token)
        # The cache key and the write gate need to tell tokens apart, never to hold one.
        self._token_id = hashlib.sha256(token.encode()).hexdigest()[:16]
        self._gate = _gate(f"{self.base_url} {self._token_id}")
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.headers.update(
            {"User-Agent": user_agent, "X-GitHub-Api-Version": API_VERSION}
        )
        self._elsewhere = requests.Session()
        self._elsewhere.headers.update({"User-Agent": user_agent})

    def __repr__(self) -> str:
        return f"<GitHubTransport {self.base_url}>"

    def close(self) -> None:
        self._session.close()
        self._elsewhere.close()

    # --- requests ------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        accept: str = JSON_MEDIA_TYPE,
        follow_redirects: bool = True,
    ) -> Answer:
        method = method.upper()
        url = self._url(path)
        if method in READS:
            return self._send(method, url, params, body, accept, follow_redirects)
        with self._gate.lock:
            pause = self._gate.last_write + self.write_interval - self._clock()
            if pause > 0:
                self._sleep(pause)
            try:
                return self._send(method, url, params, body, accept, follow_redirects)
            finally:
                self._gate.last_write = self._clock()

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        accept: str = JSON_MEDIA_TYPE,
    ) -> Iterator[Answer]:
        """The first page and every page its ``Link: rel="next"`` leads to, in order."""
        query = {"per_page": PAGE_SIZE, **(params or {})}
        answer = self.request("GET", path, params=query, accept=accept)
        yield answer
        while (next_url := answer.next_url) is not None:
            answer = self.request("GET", next_url, accept=accept)
            yield answer

    def items(
        self, path: str, *, key: str | None = None, params: Mapping[str, Any] | None = None
    ) -> Iterator[Any]:
        """Every item of a paginated list; `key` names the list in an envelope answer."""
        for answer in self.pages(path, params=params):
            data = answer.json()
            rows = data.get(key) if key is not None and isinstance(data, dict) else data
            if not isinstance(rows, list):
                raise GitHubError(
                    f"expected a list{f' under {key!r}' if key else ''}",
                    status=answer.status,
                    method="GET",
                    path=shown(answer.url),
                )
            yield from rows

    def download(self, path: str, *, max_bytes: int) -> bytes:
        """A file GitHub serves through a redirect to another host (artifacts, logs).

        The API answers 302 with a short-lived signed URL; that URL is fetched by a session
        that holds no credentials, since the signed URL is its own credential and the other
        host has no business seeing the token.
        """
        answer = self.request("GET", path, follow_redirects=False)
        if answer.status not in REDIRECTS:
            return self._capped(answer.body, max_bytes, path=shown(answer.url))
        location = urljoin(answer.url, answer.headers.get("location", ""))
        if origin(location) == origin(self.base_url):
            return self._capped(self.request("GET", location).body, max_bytes, path=path)
        return self._fetch_elsewhere(location, max_bytes=max_bytes)

    # --- the parts -----------------------------------------------------------------
    def _url(self, path: str) -> str:
        if "://" not in path:
            return urljoin(self.base_url, path.lstrip("/"))
        if origin(path) != origin(self.base_url):
            raise GitHubError(
                "refused to send the token to a host other than the API's",
                path=shown(path),
            )
        return path

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        body: Any,
        accept: str,
        follow_redirects: bool,
    ) -> Answer:
        key = self._cache_key(url, params, accept) if method == "GET" else None
        cached = self.cache.get(key) if key is not None else None
        secondary_hits = 0
        for attempt in range(1, self.max_attempts + 1):
            self._wait_out_block(method, url)
            headers = {"Accept": accept}
            if cached is not None:
                headers["If-None-Match"] = cached.etag
            answer = self._exchange(method, url, params, body, headers, follow_redirects)
            if answer.status == 304 and cached is not None:
                with self._lock:
                    self.stats.not_modified += 1
                merged = CaseInsensitiveDict(answer.headers)
                merged.update(cached.headers)
                return Answer(200, merged, cached.body, answer.url, from_cache=True)
            if answer.status < 400:
                if key is not None and answer.status == 200 and answer.headers.get("etag"):
                    self._remember(key, answer)
                return answer
            message = error_words(answer)[0]
            hit = limit_hit(
                status=answer.status,
                headers=answer.headers,
                message=message,
                now=self._clock(),
                repeat=secondary_hits,
            )
            if hit is None:
                raise error_for(answer, method=method)
            secondary_hits += hit.kind == "secondary"
            retry_at = self._clock() + hit.wait_seconds
            if hit.wait_seconds > self.max_wait or attempt == self.max_attempts:
                if hit.kind == "primary":
                    self._blocked_until = max(self._blocked_until, retry_at)
                raise self._rate_limited(answer, method, hit.kind, hit.wait_seconds, message)
            if hit.kind == "primary":
                self._blocked_until = max(self._blocked_until, retry_at)
            self._pause(hit.wait_seconds, f"{hit.kind} rate limit ({message})")
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _exchange(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: dict[str, str],
        follow_redirects: bool,
    ) -> Answer:
        response: requests.Response | None = None
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                auth=self._auth,
                timeout=self.timeout,
                allow_redirects=follow_redirects,
            )
        except requests.RequestException as exc:
            failure = f"{type(exc).__name__}: {exc}"
        if response is None:
            # Raised outside the handler: requests' exception holds the prepared request, and
            # with it the token, so it must not ride along as the context.
            raise GitHubError(failure, method=method, path=shown(url))
        answer = Answer(response.status_code, response.headers, response.content, response.url)
        state = state_from(answer.headers)
        with self._lock:
            self.stats.requests += 1
            if state is not None:
                self.rate_limit = state
        logger.debug(
            "%s %s -> %d%s",
            method,
            shown(url),
            answer.status,
            f" ({state.remaining}/{state.limit} left)" if state else "",
        )
        return answer

    def _cache_key(self, url: str, params: Mapping[str, Any] | None, accept: str) -> str:
        query = requests.Request("GET", url, params=params).prepare().url or url
        return f"{self._token_id} {accept} {query}"

    def _remember(self, key: str, answer: Answer) -> None:
        kept = {name: answer.headers[name] for name in _CACHED_HEADERS if name in answer.headers}
        self.cache.put(key, CachedAnswer(answer.headers["etag"], answer.body, kept))

    def _wait_out_block(self, method: str, url: str) -> None:
        """After a primary limit, send nothing more until its reset (GitHub bans hammering)."""
        wait = self._blocked_until - self._clock()
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise RateLimited(
                "the primary rate limit is exhausted until its reset",
                kind="primary",
                retry_at=datetime.fromtimestamp(self._blocked_until, tz=UTC),
                wait_seconds=wait,
                status=403,
                method=method,
                path=shown(url),
            )
        self._pause(wait, "the primary rate limit's reset")

    def _pause(self, seconds: float, reason: str) -> None:
        logger.info("waiting %.0f s for GitHub: %s", seconds, reason)
        with self._lock:
            self.stats.rate_limit_waits += 1
            self.stats.waited_seconds += seconds
        self._sleep(seconds)

    def _rate_limited(
        self,
        answer: Answer,
        method: str,
        kind: Literal["primary", "secondary"],
        wait: float,
        message: str,
    ) -> RateLimited:
        _, documentation_url, _ = error_words(answer)
        return RateLimited(
            message,
            kind=kind,
            retry_at=datetime.fromtimestamp(self._clock() + wait, tz=UTC),
            wait_seconds=wait,
            status=answer.status,
            documentation_url=documentation_url,
            method=method,
            path=shown(answer.url),
        )

    def _fetch_elsewhere(self, url: str, *, max_bytes: int) -> bytes:
        host = urlsplit(url).netloc
        try:
            with self._elsewhere.get(
                url, auth=NoCredentials(), timeout=self.timeout, stream=True
            ) as response:
                logger.debug("GET %s%s -> %d", host, urlsplit(url).path, response.status_code)
                if response.status_code != 200:
                    raise GitHubError(
                        f"the download host answered {response.status_code}",
                        status=response.status_code,
                        method="GET",
                        path=f"{host}{urlsplit(url).path}",
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise GitHubError(
                            f"download larger than {max_bytes} bytes",
                            method="GET",
                            path=f"{host}{urlsplit(url).path}",
                        )
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.RequestException as exc:
            raise GitHubError(
                f"{type(exc).__name__} from the download host {host}",
                method="GET",
                path=f"{host}{urlsplit(url).path}",
            ) from None

    @staticmethod
    def _capped(body: bytes, max_bytes: int, *, path: str) -> bytes:
        if len(body) > max_bytes:
            raise GitHubError(f"download larger than {max_bytes} bytes", method="GET", path=path)
        return body
