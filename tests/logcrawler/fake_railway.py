"""A local server that answers as Railway's public GraphQL API does, for the crawler's tests.

It serves the four queries the crawler sends (a project's services, a service's deployments,
``deploymentLogs`` and ``httpLogs``) from in-memory records, filters logs by ``startDate`` and
``endDate`` (inclusive), cuts a page at ``limit`` from the oldest or from the newest end, and
can be scripted to answer 429 with ``Retry-After`` or a 200 carrying GraphQL ``errors``.
An unknown token gets what Railway sends: a 200 with ``Not Authorized`` in ``errors``.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stamp_ns(text: str) -> int:
    """Nanoseconds of a UTC stamp written as Railway writes them (Z, up to 9 digits)."""
    match = _STAMP.match(text)
    assert match, text
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


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        recorded = Recorded(
            dict(self.headers.items()), payload.get("query", ""), payload.get("variables") or {}
        )
        status, body, headers = fake.answer(recorded)
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


class FakeRailway:
    def __init__(self, *, token: str = "rw-account-token", project_token: str = "") -> None:  # noqa: S107
        self.token = token
        self.project_token = project_token
        self.cut = "oldest"  # which lines a full page keeps: the oldest or the newest
        self.services: dict[str, str] = {"api": "11111111-1111-4111-8111-111111111111"}
        self.deployments: dict[str, list[dict[str, str]]] = {}
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.http: dict[str, list[dict[str, Any]]] = {}
        self.scripted: deque[Scripted] = deque()
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
    def deploy(self, deployment_id: str, *, service: str = "api", status: str = "SUCCESS") -> None:
        service_id = self.services[service]
        rows = self.deployments.setdefault(service_id, [])
        rows[:] = [row for row in rows if row["id"] != deployment_id]
        rows.insert(0, {"id": deployment_id, "status": status, "serviceId": service_id})
        self.logs.setdefault(deployment_id, [])
        self.http.setdefault(deployment_id, [])

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
                }
            )

    def request_log(
        self, deployment_id: str, timestamp: str, method: str, path: str, status: int
    ) -> None:
        with self._lock:
            self.http[deployment_id].append(
                {
                    "timestamp": timestamp,
                    "requestId": f"req-{len(self.http[deployment_id])}",
                    "method": method,
                    "path": path,
                    "host": "api.example.app",
                    "httpStatus": status,
                    "totalDuration": 12,
                    "srcIp": "203.0.113.9",
                }
            )

    def script(self, *replies: Scripted) -> None:
        self.scripted.extend(replies)

    # --- answering -----------------------------------------------------------------
    def _authorised(self, headers: dict[str, str]) -> bool:
        lowered = {key.lower(): value for key, value in headers.items()}
        if self.project_token:
            return lowered.get("project-access-token") == self.project_token
        return lowered.get("authorization") == f"Bearer {self.token}"

    def answer(self, request: Recorded) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.requests.append(request)
            if self.scripted:
                reply = self.scripted.popleft()
                return reply.status, reply.body, reply.headers
            if not self._authorised(request.headers):
                return 200, {"data": None, "errors": [{"message": "Not Authorized"}]}, {}
            return 200, {"data": self._data(request.query, request.variables)}, {}

    def _data(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if "deploymentLogs(" in query:
            return {"deploymentLogs": self._window(self.logs, variables)}
        if "httpLogs(" in query:
            return {"httpLogs": self._window(self.http, variables)}
        if "deployments(" in query:
            service_id = variables["input"]["serviceId"]
            rows = self.deployments.get(service_id, [])[: variables.get("first") or 10]
            return {"deployments": {"edges": [{"node": dict(row)} for row in rows]}}
        if "project(" in query:
            edges = [{"node": {"id": sid, "name": name}} for name, sid in self.services.items()]
            return {"project": {"services": {"edges": edges}}}
        raise AssertionError(f"unexpected query {query!r}")

    def _window(
        self, store: dict[str, list[dict[str, Any]]], variables: dict[str, Any]
    ) -> list[dict[str, Any]]:
        start = stamp_ns(variables["startDate"]) if variables.get("startDate") else None
        end = stamp_ns(variables["endDate"]) if variables.get("endDate") else None
        rows = [
            row
            for row in store.get(variables["deploymentId"], [])
            if (start is None or stamp_ns(row["timestamp"]) >= start)
            and (end is None or stamp_ns(row["timestamp"]) <= end)
        ]
        rows.sort(key=lambda row: stamp_ns(row["timestamp"]))
        limit = int(variables.get("limit") or 100)
        if len(rows) > limit:
            rows = rows[:limit] if self.cut == "oldest" else rows[-limit:]
        return rows
