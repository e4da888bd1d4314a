"""RailwayLogsClient: Railway's public GraphQL API over requests, as the crawler needs it.

One POST per query to ``RAILWAY_API_URL``. Account and workspace tokens go in
``Authorization: Bearer``, project tokens in ``Project-Access-Token``. A 429 is honoured:
its ``Retry-After`` is slept through when short (``RAILWAY_MAX_RETRY_WAIT``), otherwise the
crawl stops and the source says until when. GraphQL ``errors`` in a 200 answer are errors.
The token never appears in an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from config.retry_after import retry_after_seconds
from logcrawler.sources.base import CrawlNotes, RateLimited, SourceError
from logcrawler.sources.cursor import format_rfc3339_ns, line_hash, parse_rfc3339_ns
from routing.redaction import REDACTED, redact_text

MAX_LIMIT = 5000
MAX_ERROR_CHARS = 400
DEFAULT_RETRY_AFTER_SECONDS = 60.0
# How the token travels: an account or workspace token as a bearer, a project token in
# Railway's own header. (Names of kinds, not secrets.)
BEARER = "bearer"
PROJECT = "project"
TOKEN_KINDS = (BEARER, PROJECT)
# Deployments whose logs are still being written.
ACTIVE_STATUSES = frozenset({"SUCCESS", "DEPLOYING", "SLEEPING", "CRASHED"})

SERVICES_QUERY = """
query ProjectServices($id: String!) {
  project(id: $id) { services { edges { node { id name } } } }
}"""

DEPLOYMENTS_QUERY = """
query ServiceDeployments($input: DeploymentListInput!, $first: Int) {
  deployments(input: $input, first: $first) {
    edges { node { id status createdAt serviceId } }
  }
}"""

DEPLOYMENT_LOGS_QUERY = """
query DeploymentLogs($deploymentId: String!, $filter: String, $limit: Int,
                     $startDate: DateTime, $endDate: DateTime) {
  deploymentLogs(deploymentId: $deploymentId, filter: $filter, limit: $limit,
                 startDate: $startDate, endDate: $endDate) {
    timestamp
    message
    severity
    attributes { key value }
  }
}"""

# HTTP logs are read around an anchor (the schema's words: "beforeDate: oldest date to look
# for logs before the anchor", "beforeLimit: limit the number of logs returned before the
# anchor"): the window's end is the anchor, its start the oldest date, and nothing is asked
# for after the anchor (``afterLimit: 0``), whatever the server's default for it may be.
HTTP_LOGS_QUERY = """
query HttpLogs($deploymentId: String!, $filter: String, $anchorDate: String,
               $beforeDate: String, $beforeLimit: Int, $afterLimit: Int) {
  httpLogs(deploymentId: $deploymentId, filter: $filter, anchorDate: $anchorDate,
           beforeDate: $beforeDate, beforeLimit: $beforeLimit, afterLimit: $afterLimit) {
    timestamp
    requestId
    method
    path
    host
    httpStatus
    totalDuration
    srcIp
  }
}"""

# Every query the client sends, by name: a test holds each to Railway's published schema.
QUERIES = {
    "ProjectServices": SERVICES_QUERY,
    "ServiceDeployments": DEPLOYMENTS_QUERY,
    "DeploymentLogs": DEPLOYMENT_LOGS_QUERY,
    "HttpLogs": HTTP_LOGS_QUERY,
}


@dataclass(frozen=True)
class RailwayLine:
    """One log record as Railway sent it (deployment or HTTP log)."""

    ts_ns: int
    timestamp: str
    message: str
    severity: str = ""
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        pairs = [f"{key}={value}" for key, value in sorted(self.attributes.items())]
        return line_hash(self.timestamp, self.severity, self.message, *pairs)


@dataclass(frozen=True)
class Deployment:
    id: str
    status: str
    service_id: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def _attributes(raw: Any) -> dict[str, str]:
    if not isinstance(raw, list):
        return {}
    pairs = {}
    for item in raw:
        if isinstance(item, dict) and "key" in item:
            value = item.get("value")
            pairs[str(item["key"])] = "" if value is None else str(value).strip('"')
    return pairs


def _line(raw: Any) -> RailwayLine:
    if not isinstance(raw, dict) or not isinstance(raw.get("timestamp"), str):
        raise SourceError("Railway sent a log record without a timestamp")
    try:
        ts_ns = parse_rfc3339_ns(raw["timestamp"])
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    return RailwayLine(
        ts_ns=ts_ns,
        timestamp=raw["timestamp"],
        message=str(raw.get("message") or ""),
        severity=str(raw.get("severity") or ""),
        attributes=_attributes(raw.get("attributes")),
    )


def _http_line(raw: Any) -> RailwayLine:
    if not isinstance(raw, dict) or not isinstance(raw.get("timestamp"), str):
        raise SourceError("Railway sent an HTTP log record without a timestamp")
    fields = {
        key: str(value)
        for key, value in raw.items()
        if key != "timestamp" and value is not None and not isinstance(value, dict | list)
    }
    message = " ".join(
        part
        for part in (
            fields.get("method", ""),
            fields.get("path", ""),
            fields.get("httpStatus", ""),
            f"{fields['totalDuration']}ms" if "totalDuration" in fields else "",
        )
        if part
    )
    try:
        ts_ns = parse_rfc3339_ns(raw["timestamp"])
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    return RailwayLine(ts_ns=ts_ns, timestamp=raw["timestamp"], message=message, attributes=fields)


class RailwayLogsClient:
    def __init__(
        self,
        *,
        url: str,
        token: str,
        token_kind: str = BEARER,
        timeout: float = 30.0,
        max_retry_wait: float = 30.0,
        max_retries: int = 3,
        notes: CrawlNotes | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if token_kind not in TOKEN_KINDS:
            raise SourceError(f"token kind must be one of {', '.join(TOKEN_KINDS)}")
        self.url = url
        self._token = token
        self.token_kind = token_kind
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        self.max_retries = max_retries
        self.notes = notes or CrawlNotes()
        self.sleep = sleep
        self.session = session or requests.Session()
        self.requests_made = 0

    def _headers(self) -> dict[str, str]:
        if self.token_kind == PROJECT:
            return {"Project-Access-Token": self._token, "Content-Type": "application/json"}
        return {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}

    def query(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The ``data`` of one GraphQL query; errors of every kind raise `SourceError`, with
        Railway's own words for them, redacted (no token, no key-shaped text)."""
        try:
            return self._query(document, variables)
        except RateLimited:
            raise
        except SourceError as exc:
            raise SourceError(self.redact(str(exc))) from None

    def redact(self, text: str) -> str:
        """Railway's text without our token (some servers echo it) or anything shaped
        like a secret (the shared redaction of chat)."""
        if self._token:
            text = text.replace(self._token, REDACTED)
        return redact_text(text)

    def _query(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        retries = 0
        while True:
            self.requests_made += 1
            try:
                response = self.session.post(
                    self.url,
                    json={"query": document, "variables": variables},
                    headers=self._headers(),
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                raise SourceError(f"Railway unreachable: {type(exc).__name__}") from None
            if response.status_code == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                wait = DEFAULT_RETRY_AFTER_SECONDS if wait is None else wait
                if wait > self.max_retry_wait or retries >= self.max_retries:
                    raise RateLimited(
                        f"Railway rate limit (HTTP 429): retry after {wait:.0f} s",
                        retry_after_seconds=wait,
                    )
                retries += 1
                self.notes.add(f"waited {wait:.0f} s for Railway's rate limit (Retry-After)")
                self.sleep(wait)
                continue
            return self._data(response)

    @staticmethod
    def _body(response: requests.Response) -> dict[str, Any] | None:
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    @classmethod
    def _data(cls, response: requests.Response) -> dict[str, Any]:
        body = cls._body(response)
        errors = _error_messages(body.get("errors") if body else None)
        if response.status_code in (401, 403):
            raise SourceError(
                f"Railway refused the token (HTTP {response.status_code})"
                + (f": {errors}" if errors else "")
            )
        if response.status_code >= 400:
            # A query Railway cannot run (a field or argument its schema lacks, a variable
            # of the wrong type) is answered 400 with GraphQL errors: say which.
            raise SourceError(
                f"Railway answered HTTP {response.status_code}" + (f": {errors}" if errors else "")
            )
        if body is None:
            raise SourceError("Railway answered with something that is not JSON")
        if errors:
            raise SourceError(f"Railway GraphQL error: {errors}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise SourceError("Railway answered without data")
        return data

    def service_ids(self, project_id: str) -> dict[str, str]:
        """Service name -> id for a project."""
        data = self.query(SERVICES_QUERY, {"id": project_id})
        edges = ((data.get("project") or {}).get("services") or {}).get("edges") or []
        return {edge["node"]["name"]: edge["node"]["id"] for edge in edges if edge.get("node")}

    def deployments(
        self, *, project_id: str, environment_id: str, service_id: str, first: int = 10
    ) -> list[Deployment]:
        selector = {"projectId": project_id, "serviceId": service_id}
        if environment_id:
            selector["environmentId"] = environment_id
        data = self.query(DEPLOYMENTS_QUERY, {"input": selector, "first": first})
        edges = (data.get("deployments") or {}).get("edges") or []
        return [
            Deployment(
                id=str(node["id"]),
                status=str(node.get("status") or ""),
                service_id=str(node.get("serviceId") or service_id),
            )
            for node in (edge.get("node") for edge in edges)
            if isinstance(node, dict) and node.get("id")
        ]

    def deployment_logs(
        self, *, deployment_id: str, start_ns: int, end_ns: int, limit: int, filter: str = ""
    ) -> list[RailwayLine]:
        variables: dict[str, Any] = {
            "deploymentId": deployment_id,
            "limit": _page_size(limit),
            # A nanosecond early: whether Railway's startDate is inclusive or not, lines at
            # the cursor's own stamp come back, and the cursor drops those already stored.
            "startDate": format_rfc3339_ns(start_ns - 1),
            "endDate": format_rfc3339_ns(end_ns),
        }
        if filter:
            variables["filter"] = filter
        data = self.query(DEPLOYMENT_LOGS_QUERY, variables)
        return [_line(raw) for raw in data.get("deploymentLogs") or []]

    def http_logs(
        self, *, deployment_id: str, start_ns: int, end_ns: int, limit: int, filter: str = ""
    ) -> list[RailwayLine]:
        """The HTTP log lines stamped from ``start_ns`` to ``end_ns``: up to ``limit`` of
        them before the anchor ``end_ns``, none after it."""
        variables: dict[str, Any] = {
            "deploymentId": deployment_id,
            "anchorDate": format_rfc3339_ns(end_ns),
            "beforeDate": format_rfc3339_ns(start_ns - 1),
            "beforeLimit": _page_size(limit),
            "afterLimit": 0,
        }
        if filter:
            variables["filter"] = filter
        data = self.query(HTTP_LOGS_QUERY, variables)
        lines = [_http_line(raw) for raw in data.get("httpLogs") or []]
        # Whichever side of the anchor Railway files a line stamped on it, and whatever it
        # sends past the dates, only the window's own lines count (for the page and cursor).
        return [line for line in lines if start_ns - 1 <= line.ts_ns <= end_ns]


def _page_size(limit: int) -> int:
    return min(max(limit, 1), MAX_LIMIT)


def _error_messages(errors: Any) -> str:
    """GraphQL ``errors`` as one line: each message, with the path it concerns."""
    if not errors:
        return ""
    parts = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            message = str(error.get("message", error))
            path = error.get("path")
            if isinstance(path, list) and path:
                message += f" (at {'.'.join(str(step) for step in path)})"
        else:
            message = str(error)
        parts.append(message)
    return "; ".join(parts)[:MAX_ERROR_CHARS]
