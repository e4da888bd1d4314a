"""A local server on 127.0.0.1 that answers as GitHub's REST API does, for the client's tests.

Bodies are GitHub's own examples from its published OpenAPI description (extracted into
`fixtures/github/` by `fixtures/extract_github_examples.py`), filled with this fake's data:
one repository whose commits, files, CI results, alerts, branches and pull requests live in
memory. Every answer carries GitHub's rate-limit headers; a GET carries an ETag and answers
a matching ``If-None-Match`` with a 304 that costs no quota; lists are cut into pages with
``Link`` headers; an artifact's zip is a 302 to a second fake host (`FakeArtifactHost`) with
a signed URL. Scripted answers (`primary_limit`, `secondary_limit`, `validation_failed`, any
`Scripted`) go out first to the next request whose path contains their `path`. A wrong token
gets GitHub's 401 "Bad credentials". Every request is recorded, headers included.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.codehealth.fake_github_changes import ChangeRoutes
from tests.codehealth.fake_github_replies import (
    REPO,
    TOKEN,
    FakeCommit,
    Recorded,
    Scripted,
    error,
    example,
    git_blob_sha,
    object_id,
    primary_limit,
    secondary_limit,
    validation_failed,
    zipped,
)

__all__ = [
    "REPO",
    "TOKEN",
    "FakeArtifactHost",
    "FakeGitHub",
    "Recorded",
    "Scripted",
    "primary_limit",
    "secondary_limit",
    "validation_failed",
    "zipped",
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        recorded = Recorded(method, self.path, dict(self.headers.items()), body)
        status, payload, headers = self.server.fake.answer(recorded)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: Any

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading (a download past its limit) is no server error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    return thread


class FakeArtifactHost:
    """The storage host an artifact download redirects to; it wants its signature, no token."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.files: dict[str, bytes] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeArtifactHost:
        _serve(self.server)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish(self, name: str, content: bytes) -> str:
        """The signed URL at which `content` is served."""
        self.files[name] = content
        signature = hashlib.sha256(name.encode()).hexdigest()[:32]
        return f"{self.url}/artifacts/{name}?se=2030-01-01T00%3A00%3A00Z&sig={signature}"

    def answer(self, request: Recorded) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.requests.append(request)
        parts = urlsplit(request.path)
        name = unquote(parts.path.removeprefix("/artifacts/"))
        signature = dict(parse_qsl(parts.query)).get("sig")
        if name not in self.files or signature != hashlib.sha256(name.encode()).hexdigest()[:32]:
            return 403, b"<Error><Code>AuthenticationFailed</Code></Error>", {}
        kind = "application/x-gzip" if name.endswith(".tar.gz") else "application/zip"
        return 200, self.files[name], {"Content-Type": kind}


class FakeGitHub(ChangeRoutes):
    def __init__(self, *, token: str = TOKEN, prefix: str = "/api/v3") -> None:
        self.token = token
        self.prefix = prefix
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.artifact_host = FakeArtifactHost()
        self.requests: list[Recorded] = []
        self.scripted: deque[Scripted] = deque()
        self.limit = 5000
        self.remaining = 5000
        self.reset = int(time.time()) + 3600
        self.write_delay = 0.0
        self.writes_in_flight = 0
        self.most_writes_in_flight = 0
        self.tree_truncated = False
        self.dependabot_denial: Scripted | None = None
        self.code_scanning_denial: Scripted | None = None
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, dict[str, str]] = {}  # tree sha -> {path: blob sha}
        self.commits: dict[str, FakeCommit] = {}
        self.refs: dict[str, str] = {}  # branch -> commit sha
        self.workflow_runs: list[dict[str, Any]] = []
        self.check_runs: list[dict[str, Any]] = []
        self.annotations: dict[int, list[dict[str, Any]]] = {}
        self.artifacts: dict[int, list[dict[str, Any]]] = {}
        self.artifact_urls: dict[int, str] = {}
        self.dependabot: list[dict[str, Any]] = example("dependabot-alerts-for-repository")
        self.code_scanning: list[dict[str, Any]] = example("code-scanning-alert-items")
        self.pulls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.head = self.commit({"README.md": b"# Hello\n", "src/app.py": b"print('hi')\n"})
        self.refs["master"] = self.head

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    def start(self) -> FakeGitHub:
        _serve(self.server)
        self.artifact_host.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.artifact_host.stop()

    def script(self, *replies: Scripted) -> None:
        with self._lock:
            self.scripted.extend(replies)

    def sent(self, method: str = "", contains: str = "") -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (not method or r.method == method) and contains in r.path
            ]

    # --- the repository's data ------------------------------------------------------
    def commit(
        self, files: dict[str, bytes], *, parents: list[str] | None = None, message: str = "c"
    ) -> str:
        entries = {}
        for path, content in files.items():
            sha = git_blob_sha(content)
            self.blobs[sha] = content
            entries[path] = sha
        tree = self._tree(entries)
        sha = object_id("commit", tree, message, *(parents or []))
        self.commits[sha] = FakeCommit(sha, tree, message, list(parents or []))
        return sha

    def _tree(self, entries: dict[str, str]) -> str:
        sha = object_id("tree", *(f"{path}={blob}" for path, blob in sorted(entries.items())))
        self.trees[sha] = dict(entries)
        return sha

    def add_check_run(
        self,
        *,
        name: str,
        app_slug: str = "github-actions",
        annotations: int = 0,
        notes: list[dict[str, Any]] | None = None,
        status: str = "completed",
        head_sha: str = "",
    ) -> int:
        """A check run on the head commit; `notes` (fields over GitHub's example annotation)
        replace the `annotations` made-up ones, and `annotations_count` is their number."""
        run = example("check-run-paginated")["check_runs"][0]
        run_id = 1000 + len(self.check_runs)
        run.update(id=run_id, name=name, head_sha=head_sha or self.head, status=status)
        if status != "completed":
            run.update(conclusion=None, completed_at=None)
        run["app"]["slug"] = app_slug
        template = example("check-annotation-items")[0]
        self.annotations[run_id] = (
            [{**template, **note} for note in notes]
            if notes is not None
            else [
                {**template, "path": f"src/file_{n}.py", "start_line": n + 1, "end_line": n + 1}
                for n in range(annotations)
            ]
        )
        run["output"]["annotations_count"] = len(self.annotations[run_id])
        self.check_runs.append(run)
        return run_id

    def add_workflow_run(
        self,
        *,
        name: str = "CI",
        artifacts: dict[str, bytes] | None = None,
        status: str = "completed",
    ) -> int:
        run = example("workflow-run-paginated")["workflow_runs"][0]
        run_id = 5000 + len(self.workflow_runs)
        run.update(id=run_id, name=name, head_sha=self.head, status=status)
        run.update(conclusion="success" if status == "completed" else None)
        self.workflow_runs.append(run)
        template = example("artifact-paginated")["artifacts"][0]
        rows = []
        for number, (artifact_name, content) in enumerate((artifacts or {}).items()):
            artifact_id = run_id * 10 + number
            row = copy.deepcopy(template)
            row.update(id=artifact_id, name=artifact_name, size_in_bytes=len(content))
            row["workflow_run"]["id"] = run_id
            rows.append(row)
            self.artifact_urls[artifact_id] = self.artifact_host.publish(
                f"{artifact_id}.zip", content
            )
        self.artifacts[run_id] = rows
        return run_id

    # --- answering ------------------------------------------------------------------
    def answer(self, request: Recorded) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.requests.append(request)
        writing = request.method != "GET"
        if writing:
            with self._lock:
                self.writes_in_flight += 1
                self.most_writes_in_flight = max(self.most_writes_in_flight, self.writes_in_flight)
            time.sleep(self.write_delay)
        try:
            return self._answer(request)
        finally:
            if writing:
                with self._lock:
                    self.writes_in_flight -= 1

    def _answer(self, request: Recorded) -> tuple[int, bytes, dict[str, str]]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": "0000:1111:2222:3333:4444",
        }
        lowered = {name.lower(): value for name, value in request.headers.items()}
        if lowered.get("authorization") != f"Bearer {self.token}":
            return self._finish(error(401, "Bad credentials"), headers, lowered, charge=False)
        scripted = self._scripted(request.path, request.method)
        if scripted is None:
            try:
                scripted = self._route(request, lowered)
            except LookupError:  # an unknown sha, ref, run or path
                scripted = error(404, "Not Found")
        return self._finish(scripted, headers, lowered, charge=True, method=request.method)

    def _scripted(self, path: str, method: str) -> Scripted | None:
        with self._lock:
            for reply in self.scripted:
                if reply.path in path and reply.method in ("", method):
                    self.scripted.remove(reply)
                    return reply
        return None

    def _finish(
        self,
        reply: Scripted,
        headers: dict[str, str],
        lowered: dict[str, str],
        *,
        charge: bool,
        method: str = "GET",
    ) -> tuple[int, bytes, dict[str, str]]:
        if isinstance(reply.body, bytes | str):
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
        else:
            payload = json.dumps(reply.body).encode() if reply.body is not None else b""
        etag = f'W/"{hashlib.sha256(payload).hexdigest()}"'
        not_modified = (
            method == "GET" and reply.status == 200 and lowered.get("if-none-match") == etag
        )
        with self._lock:
            if charge and not not_modified and self.remaining > 0:
                self.remaining -= 1
            headers |= {
                "x-ratelimit-limit": str(self.limit),
                "x-ratelimit-remaining": str(self.remaining),
                "x-ratelimit-reset": str(self.reset),
                "x-ratelimit-used": str(self.limit - self.remaining),
                "x-ratelimit-resource": "core",
            }
        headers |= reply.headers
        if method == "GET" and reply.status == 200:
            headers |= {
                "ETag": etag,
                "Cache-Control": "private, max-age=60, s-maxage=60",
                "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
            }
        if not_modified:
            return 304, b"", {k: v for k, v in headers.items() if k != "Content-Type"}
        return reply.status, payload, headers
