"""A local server that answers as Railway's public GraphQL API does, for the crawler's tests.

Every request is held to Railway's published schema (``railway_api/schema.json``, vendored
with its licence): a query that does not parse, asks for a field or argument the schema does
not have, or whose variables do not fit their declared types, is answered as a GraphQL
server answers it: HTTP 400 (``validation_status``) with ``errors`` and no ``data``. A valid
query is executed against the schema with resolvers over in-memory records, so the answer
has exactly the shape asked for (and a record missing a non-null field is an error, as it
would be on Railway).

Resolvers: ``project(id)`` (its services), ``deployments(input, first)``, ``deploymentLogs
(deploymentId, startDate, endDate, limit, filter)`` and ``httpLogs(deploymentId, anchorDate,
beforeDate, beforeLimit, afterDate, afterLimit, limit, filter)``. Deployment logs are those
between ``startDate`` and ``endDate`` (inclusive), a full page cut at ``limit`` from the
oldest or the newest end (``cut_logs``). HTTP logs follow the schema's descriptions: around
``anchorDate`` (default: now), up to ``beforeLimit`` lines at or before it and not older than
``beforeDate``, and up to ``afterLimit`` after it and not newer than ``afterDate``; which end
of a full side is kept is ``cut_http`` (default: the lines nearest the anchor), and whether a
line stamped exactly at the anchor counts as before it is ``anchor_before``. Railway does
not document these details; the crawler must be right whichever way they fall, so the tests
run both ways. An unknown token gets what Railway sends: a 200 with ``Not Authorized``.

Replies can be scripted (429 with ``Retry-After``, GraphQL ``errors`` in a 200), and any
field can be made to fail for chosen arguments (``fail``), as one broken query would.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_client_schema,
    execute_sync,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

SCHEMA_PATH = Path(__file__).resolve().parent / "railway_api" / "schema.json"
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_LIMIT = 100
MAX_LIMIT = 5000


@cache
def railway_schema() -> GraphQLSchema:
    """Railway's schema from its introspection result.

    ``assume_valid``: the published schema breaks a rule newer than it (an implementation
    field deprecated where its interface's is not), which does not affect queries.
    """
    introspection = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["data"]
    return build_client_schema(introspection, assume_valid=True)


def stamp_ns(text: str) -> int:
    """Nanoseconds of a UTC stamp written as Railway writes them (Z, up to 9 digits)."""
    match = _STAMP.match(text)
    if match is None:
        raise ValueError(f"Invalid date: {text}")
    whole = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    fraction = int((match.group(2) or "0")[:9].ljust(9, "0"))
    return (whole - _EPOCH) // timedelta(seconds=1) * 1_000_000_000 + fraction


def railway_stamp(when: datetime, nanos: int = 0) -> str:
    """``when`` (to the microsecond) plus ``nanos`` extra nanoseconds, as Railway sends it."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond * 1000 + nanos:09d}Z"


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    headers: dict[str, str]
    query: str
    variables: dict[str, Any]
    status: int = 0
    errors: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        status, body, headers = fake.answer(dict(self.headers.items()), raw)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeRailway


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def _formatted(error: GraphQLError, code: str) -> dict[str, Any]:
    return {**error.formatted, "extensions": {"code": code}}


class _Root:
    """The Query type's resolvers (graphql-core calls ``root.<field>(info, **arguments)``)."""

    def __init__(self, fake: FakeRailway) -> None:
        self.fake = fake

    def project(self, info: Any, id: str) -> dict[str, Any]:
        self.fake.check_failure("project", {"id": id})
        if id != self.fake.project_id:
            raise GraphQLError("Project not found")
        edges = [{"node": {"id": sid, "name": name}} for name, sid in self.fake.services.items()]
        return {"id": id, "name": "shop", "services": {"edges": edges}}

    def deployments(self, info: Any, input: dict[str, Any], **page: Any) -> dict[str, Any]:
        self.fake.check_failure("deployments", input)
        service_id = input.get("serviceId")
        rows = self.fake.deployments.get(service_id or "", [])[: page.get("first") or 10]
        return {"edges": [{"node": self.fake.deployment_node(row)} for row in rows]}

    def deploymentLogs(self, info: Any, deploymentId: str, **arguments: Any) -> list[Any]:
        self.fake.check_failure("deploymentLogs", {"deploymentId": deploymentId, **arguments})
        return self.fake.deployment_window(deploymentId, arguments)

    def httpLogs(self, info: Any, deploymentId: str, **arguments: Any) -> list[Any]:
        self.fake.check_failure("httpLogs", {"deploymentId": deploymentId, **arguments})
        return self.fake.http_window(deploymentId, arguments)


class FakeRailway:
    def __init__(self, *, token: str = "rw-account-token", project_token: str = "") -> None:  # noqa: S107
        self.token = token
        self.project_token = project_token
        self.project_id = "proj-1"
        self.cut_logs = "oldest"  # which lines a full deploymentLogs page keeps
        self.cut_http = "nearest"  # or "farthest": which lines a full httpLogs side keeps
        self.anchor_before = True  # a line stamped at anchorDate is before it (else after)
        self.validation_status = 400
        self.expect_valid = True  # the conftest fixture checks it after each test
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.services: dict[str, str] = {"api": "11111111-1111-4111-8111-111111111111"}
        self.deployments: dict[str, list[dict[str, str]]] = {}
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.http: dict[str, list[dict[str, Any]]] = {}
        self.scripted: deque[Scripted] = deque()
        self.failures: list[tuple[str, dict[str, Any], str]] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/graphql/v2"

    def start(self) -> FakeRailway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the data ------------------------------------------------------------------
    def add_service(self, name: str, service_id: str) -> None:
        self.services[name] = service_id

    def deploy(self, deployment_id: str, *, service: str = "api", status: str = "SUCCESS") -> None:
        service_id = self.services[service]
        rows = self.deployments.setdefault(service_id, [])
        rows[:] = [row for row in rows if row["id"] != deployment_id]
        rows.insert(0, {"id": deployment_id, "status": status, "serviceId": service_id})
        self.logs.setdefault(deployment_id, [])
        self.http.setdefault(deployment_id, [])

    def deployment_node(self, row: dict[str, str]) -> dict[str, Any]:
        return {**row, "createdAt": "2025-06-01T00:00:00.000Z", "projectId": self.project_id}

    def log(
        self,
        deployment_id: str,
        timestamp: str,
        message: str,
        *,
        severity: str = "info",
        attributes: dict[str, str] | None = None,
    ) -> None:
        with self._lock:
            self.logs[deployment_id].append(
                {
                    "timestamp": timestamp,
                    "message": message,
                    "severity": severity,
                    "attributes": [
                        {"key": key, "value": json.dumps(value)}
                        for key, value in (attributes or {}).items()
                    ],
                    "tags": None,
                }
            )

    def request_log(
        self, deployment_id: str, timestamp: str, method: str, path: str, status: int
    ) -> None:
        """One HTTP log record with every field Railway's HttpLog type has (all non-null)."""
        with self._lock:
            number = len(self.http[deployment_id])
            self.http[deployment_id].append(
                {
                    "timestamp": timestamp,
                    "requestId": f"req-{number}",
                    "deploymentId": deployment_id,
                    "deploymentInstanceId": f"{deployment_id}-instance-1",
                    "method": method,
                    "path": path,
                    "host": "api.example.app",
                    "httpStatus": status,
                    "totalDuration": 12,
                    "upstreamRqDuration": 10,
                    "srcIp": "203.0.113.9",
                    "clientUa": "curl/8.5.0",
                    "edgeRegion": "europe-west4-drams3a",
                    "downstreamProto": "HTTP/1.1",
                    "upstreamProto": "HTTP/1.1",
                    "upstreamAddress": "http://[fd12::1]:8080",
                    "upstreamErrors": "",
                    "responseDetails": "",
                    "txBytes": 512,
                    "rxBytes": 96,
                }
            )

    def script(self, *replies: Scripted) -> None:
        self.scripted.extend(replies)

    def fail(self, field_name: str, message: str, **arguments: Any) -> None:
        """Make ``field_name`` fail with ``message`` whenever its arguments include these."""
        self.failures.append((field_name, arguments, message))

    def check_failure(self, field_name: str, arguments: dict[str, Any]) -> None:
        for name, wanted, message in self.failures:
            if name == field_name and all(arguments.get(k) == v for k, v in wanted.items()):
                raise GraphQLError(message)

    def invalid_requests(self) -> list[Recorded]:
        """The requests refused as not fitting the schema (parse, validation, variables)."""
        refused = ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")
        return [r for r in self.requests if any(code in refused for code in r.codes)]

    # --- answering -----------------------------------------------------------------
    def _authorised(self, headers: dict[str, str]) -> bool:
        lowered = {key.lower(): value for key, value in headers.items()}
        if self.project_token:
            return lowered.get("project-access-token") == self.project_token
        return lowered.get("authorization") == f"Bearer {self.token}"

    def answer(
        self, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            message = "POST body missing, invalid Content-Type, or JSON object has no keys."
            body = {"errors": [_error(message, "BAD_REQUEST")]}
            return self._record(headers, {}, 400, body)
        with self._lock:
            checked = self._check(payload)
            if isinstance(checked, tuple):
                return self._record(headers, payload, *checked)
            if self.scripted:
                reply = self.scripted.popleft()
                return self._record(headers, payload, reply.status, reply.body, reply.headers)
            status, body = self._execute(headers, payload, checked)
        return self._record(headers, payload, status, body)

    def _record(
        self,
        headers: dict[str, str],
        payload: dict[str, Any],
        status: int,
        body: dict[str, Any],
        reply_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        raw_errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        errors = [str(e.get("message")) for e in raw_errors]
        codes = [str((e.get("extensions") or {}).get("code", "")) for e in raw_errors]
        variables = payload.get("variables")
        self.requests.append(
            Recorded(
                headers,
                str(payload.get("query") or ""),
                variables if isinstance(variables, dict) else {},
                status,
                errors,
                codes,
            )
        )
        return status, body, reply_headers or {}

    def _check(self, payload: dict[str, Any]) -> DocumentNode | tuple[int, dict[str, Any]]:
        """The parsed query, or the answer refusing it (what a GraphQL server checks before
        it runs anything: syntax, the schema, the operation, the variables' types)."""
        schema = railway_schema()
        try:
            document = parse(payload["query"])
        except GraphQLError as exc:
            return 400, {"errors": [_formatted(exc, "GRAPHQL_PARSE_FAILED")]}
        problems = validate(schema, document)
        if problems:
            errors = [_formatted(problem, "GRAPHQL_VALIDATION_FAILED") for problem in problems]
            return self.validation_status, {"errors": errors}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        name = payload.get("operationName")
        operation = next(
            (op for op in operations if not name or (op.name and op.name.value == name)), None
        )
        if operation is None:
            return 400, {"errors": [_error(f"Unknown operation named '{name}'.", "BAD_REQUEST")]}
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return 400, {"errors": [_error("Variables must be an object.", "BAD_REQUEST")]}
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return 400, {"errors": [_formatted(error, "BAD_USER_INPUT") for error in coerced]}
        return document

    def _execute(
        self, headers: dict[str, str], payload: dict[str, Any], document: DocumentNode
    ) -> tuple[int, dict[str, Any]]:
        if not self._authorised(headers):
            return 200, {"data": None, "errors": [_error("Not Authorized", "UNAUTHENTICATED")]}
        result = execute_sync(
            railway_schema(),
            document,
            root_value=_Root(self),
            variable_values=payload.get("variables") or {},
            operation_name=payload.get("operationName"),
        )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [_formatted(error, "INTERNAL_SERVER_ERROR") for error in result.errors]
        return 200, body

    # --- windows -------------------------------------------------------------------
    def deployment_window(self, deployment_id: str, arguments: dict[str, Any]) -> list[Any]:
        start = stamp_ns(arguments["startDate"]) if arguments.get("startDate") else None
        end = stamp_ns(arguments["endDate"]) if arguments.get("endDate") else None
        rows = sorted(
            (
                row
                for row in self.logs.get(deployment_id, [])
                if (start is None or stamp_ns(row["timestamp"]) >= start)
                and (end is None or stamp_ns(row["timestamp"]) <= end)
            ),
            key=lambda row: stamp_ns(row["timestamp"]),
        )
        limit = min(int(arguments.get("limit") or DEFAULT_LIMIT), MAX_LIMIT)
        if len(rows) > limit:
            rows = rows[:limit] if self.cut_logs == "oldest" else rows[-limit:]
        return rows

    def http_window(self, deployment_id: str, arguments: dict[str, Any]) -> list[Any]:
        anchor_text = arguments.get("anchorDate")
        anchor = stamp_ns(anchor_text) if anchor_text else stamp_ns(railway_stamp(self.now()))
        before_date = arguments.get("beforeDate")
        after_date = arguments.get("afterDate")
        oldest = stamp_ns(before_date) if before_date else None
        newest = stamp_ns(after_date) if after_date else None
        limit = arguments.get("limit")
        before_limit = arguments.get("beforeLimit")
        after_limit = arguments.get("afterLimit")
        if before_limit is None:
            before_limit = 0 if after_limit else (limit or DEFAULT_LIMIT)
        rows = sorted(self.http.get(deployment_id, []), key=lambda row: stamp_ns(row["timestamp"]))
        before, after = [], []
        for row in rows:
            ts = stamp_ns(row["timestamp"])
            if ts < anchor or (ts == anchor and self.anchor_before):
                if oldest is None or ts >= oldest:
                    before.append(row)
            elif newest is None or ts <= newest:
                after.append(row)
        before_limit = min(before_limit, MAX_LIMIT)
        after_limit = min(after_limit or 0, MAX_LIMIT)
        if self.cut_http != "nearest":
            before, after = before[::-1], after[::-1]
        kept_before = before[-before_limit:] if before_limit else []
        kept_after = after[:after_limit] if after_limit else []
        return sorted(kept_before + kept_after, key=lambda row: stamp_ns(row["timestamp"]))
