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

import base64
import copy
import hashlib
import io
import json
import re
import threading
import time
import zipfile
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github"
TOKEN = "ghp_FAKEfakeFAKEfake0123456789abcdefABCD"
REPO = "octocat/Hello-World"
DOCS = "https://docs.github.com/rest"
LIMITS_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"


def example(name: str) -> Any:
    """A fresh copy of one of GitHub's example bodies."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324 - git's


def _sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()  # noqa: S324 - an object id


def wrapped_base64(content: bytes) -> str:
    """Base64 as the contents API sends it: a newline every 60 characters."""
    text = base64.b64encode(content).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


@dataclass
class Recorded:
    method: str
    path: str  # with the query
    headers: dict[str, str]
    body: Any


@dataclass
class Scripted:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""  # answers only a request whose path contains this


@dataclass
class FakeCommit:
    sha: str
    tree: str
    message: str
    parents: list[str]


def primary_limit(*, reset: int, status: int = 403, path: str = "") -> Scripted:
    return Scripted(
        status,
        {
            "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub "
            "Support for help, please include the request ID 0000:1111:2222:3333:4444.",
            "documentation_url": f"{LIMITS_DOCS}#primary-rate-limit",
            "status": str(status),
        },
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        path,
    )


def secondary_limit(*, retry_after: int | None, path: str = "") -> Scripted:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return Scripted(
        403,
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again. If you reach out to GitHub Support for help, please include "
            "the request ID 0000:1111:2222:3333:4444.",
            "documentation_url": f"{LIMITS_DOCS}#about-secondary-rate-limits",
            "status": "403",
        },
        headers,
        path,
    )


def validation_failed(errors: list[dict[str, Any]], *, path: str = "") -> Scripted:
    return Scripted(
        422,
        {
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": DOCS,
            "status": "422",
        },
        path=path,
    )


def _error(status: int, message: str, documentation_url: str = DOCS) -> Scripted:
    return Scripted(
        status, {"message": message, "documentation_url": documentation_url, "status": str(status)}
    )


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
        return 200, self.files[name], {"Content-Type": "application/zip"}


class FakeGitHub:
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
        sha = _sha("commit", tree, message, *(parents or []))
        self.commits[sha] = FakeCommit(sha, tree, message, list(parents or []))
        return sha

    def _tree(self, entries: dict[str, str]) -> str:
        sha = _sha("tree", *(f"{path}={blob}" for path, blob in sorted(entries.items())))
        self.trees[sha] = dict(entries)
        return sha

    def add_check_run(
        self, *, name: str, app_slug: str = "github-actions", annotations: int = 0
    ) -> int:
        run = example("check-run-paginated")["check_runs"][0]
        run_id = 1000 + len(self.check_runs)
        run.update(id=run_id, name=name, head_sha=self.head)
        run["app"]["slug"] = app_slug
        run["output"]["annotations_count"] = annotations
        template = example("check-annotation-items")[0]
        self.annotations[run_id] = [
            {**template, "path": f"src/file_{n}.py", "start_line": n + 1, "end_line": n + 1}
            for n in range(annotations)
        ]
        self.check_runs.append(run)
        return run_id

    def add_workflow_run(
        self, *, name: str = "CI", artifacts: dict[str, bytes] | None = None
    ) -> int:
        run = example("workflow-run-paginated")["workflow_runs"][0]
        run_id = 5000 + len(self.workflow_runs)
        run.update(id=run_id, name=name, head_sha=self.head)
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
            return self._finish(_error(401, "Bad credentials"), headers, lowered, charge=False)
        scripted = self._scripted(request.path)
        if scripted is None:
            try:
                scripted = self._route(request, lowered)
            except LookupError:  # an unknown sha, ref, run or path
                scripted = _error(404, "Not Found")
        return self._finish(scripted, headers, lowered, charge=True, method=request.method)

    def _scripted(self, path: str) -> Scripted | None:
        with self._lock:
            for reply in self.scripted:
                if reply.path in path:
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

    # --- routes ---------------------------------------------------------------------
    def _route(self, request: Recorded, lowered: dict[str, str]) -> Scripted:
        parts = urlsplit(request.path)
        path = unquote(parts.path).removeprefix(self.prefix)
        query = dict(parse_qsl(parts.query))
        repo = f"/repos/{REPO}"
        if not path.startswith(repo):
            return _error(404, "Not Found")
        rest = path.removeprefix(repo)
        for pattern, method, handler in self._routes():
            match = re.fullmatch(pattern, rest)
            if match and method == request.method:
                return handler(request, query, lowered, *match.groups())
        return _error(404, "Not Found")

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            (r"", "GET", self._repository),
            (r"/commits/([^/]+)", "GET", self._commit),
            (r"/commits/([^/]+)/check-runs", "GET", self._check_runs),
            (r"/git/trees/([^/]+)", "GET", self._get_tree),
            (r"/git/blobs/([^/]+)", "GET", self._get_blob),
            (r"/contents/(.*)", "GET", self._contents),
            (r"/actions/runs", "GET", self._workflow_runs),
            (r"/check-runs/(\d+)/annotations", "GET", self._annotations),
            (r"/actions/runs/(\d+)/artifacts", "GET", self._artifacts),
            (r"/actions/artifacts/(\d+)/zip", "GET", self._artifact_zip),
            (r"/dependabot/alerts", "GET", self._dependabot),
            (r"/code-scanning/alerts", "GET", self._code_scanning),
            (r"/pulls", "GET", self._list_pulls),
            (r"/git/blobs", "POST", self._create_blob),
            (r"/git/trees", "POST", self._create_tree),
            (r"/git/commits", "POST", self._create_commit),
            (r"/git/refs", "POST", self._create_ref),
            (r"/git/refs/heads/(.+)", "PATCH", self._update_ref),
            (r"/pulls", "POST", self._create_pull),
        ]

    def _page(
        self, rows: list[Any], request: Recorded, query: dict[str, str]
    ) -> tuple[list[Any], dict[str, str]]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        last = max((len(rows) + per_page - 1) // per_page, 1)
        base = f"{self.base_url}{urlsplit(request.path).path.removeprefix(self.prefix)}"

        def link(number: int, rel: str) -> str:
            return f'<{base}?{urlencode({**query, "page": number})}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links.append(link(1, "first"))
        headers = {"Link": ", ".join(links)} if links else {}
        return rows[(page - 1) * per_page : page * per_page], headers

    def _resolve(self, ref: str) -> str:
        sha = self.refs.get(ref.removeprefix("heads/"), ref)
        if sha not in self.commits:
            raise LookupError(ref)
        return sha

    def _repository(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        body = example("full-repository-default-response")
        body.update(full_name=REPO, default_branch="master")
        return Scripted(200, body)

    def _commit(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], ref: str
    ) -> Scripted:
        try:
            sha = self._resolve(ref)
        except LookupError:
            return _error(422, f"No commit found for SHA: {ref}")
        if lowered.get("accept", "").startswith("application/vnd.github.sha"):
            return Scripted(200, sha, {"Content-Type": "application/vnd.github.sha; charset=utf-8"})
        found = self.commits[sha]
        body = example("commit")
        body["sha"] = sha
        body["commit"]["tree"]["sha"] = found.tree
        body["commit"]["message"] = found.message
        body["parents"] = [{"sha": parent, "url": "", "html_url": ""} for parent in found.parents]
        return Scripted(200, body)

    def _get_tree(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], sha: str
    ) -> Scripted:
        tree_sha = self.commits[sha].tree if sha in self.commits else sha
        entries = self.trees[tree_sha]
        template = example("git-tree-response-recursively-retrieving-a-tree")
        item = template["tree"][0]
        listed = []
        folders = sorted({p.rsplit("/", 1)[0] for p in entries if "/" in p})
        for folder in folders if query.get("recursive") else ():
            listed.append(
                {**item, "path": folder, "mode": "040000", "type": "tree", "sha": _sha(folder)}
            )
            listed[-1].pop("size", None)
        for path, blob in sorted(entries.items()):
            if query.get("recursive") or "/" not in path:
                listed.append({**item, "path": path, "sha": blob, "size": len(self.blobs[blob])})
        template.update(sha=tree_sha, tree=listed, truncated=self.tree_truncated)
        return Scripted(200, template)

    def _get_blob(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], sha: str
    ) -> Scripted:
        content = self.blobs[sha]
        body = example("blob")
        body.update(sha=sha, size=len(content), content=wrapped_base64(content))
        return Scripted(200, body)

    def _contents(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], path: str
    ) -> Scripted:
        entries = self.trees[self.commits[self._resolve(query.get("ref", "master"))].tree]
        if path not in entries:
            inside = [p for p in entries if p.startswith(path.rstrip("/") + "/")]
            if not inside:
                return _error(404, "Not Found")
            template = example("content-file-response-if-content-is-a-directory")[0]
            return Scripted(
                200,
                [
                    {**template, "path": p, "name": p.rsplit("/", 1)[-1], "sha": entries[p]}
                    for p in inside
                ],
            )
        content = self.blobs[entries[path]]
        body = example("content-file-response-if-content-is-a-file")
        body.update(path=path, name=path.rsplit("/", 1)[-1], sha=entries[path], size=len(content))
        if len(content) > 1024 * 1024:  # GitHub stops inlining files past 1 MB
            body.update(content="", encoding="none")
        else:
            body.update(content=wrapped_base64(content), encoding="base64")
        return Scripted(200, body)

    def _workflow_runs(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        rows = [
            r for r in self.workflow_runs if r["head_sha"] == query.get("head_sha", r["head_sha"])
        ]
        page, headers = self._page(rows, request, query)
        return Scripted(200, {"total_count": len(rows), "workflow_runs": page}, headers)

    def _check_runs(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], ref: str
    ) -> Scripted:
        sha = self._resolve(ref)
        rows = [r for r in self.check_runs if r["head_sha"] == sha]
        page, headers = self._page(rows, request, query)
        return Scripted(200, {"total_count": len(rows), "check_runs": page}, headers)

    def _annotations(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], run_id: str
    ) -> Scripted:
        page, headers = self._page(self.annotations[int(run_id)], request, query)
        return Scripted(200, page, headers)

    def _artifacts(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], run_id: str
    ) -> Scripted:
        rows = self.artifacts.get(int(run_id), [])
        page, headers = self._page(rows, request, query)
        return Scripted(200, {"total_count": len(rows), "artifacts": page}, headers)

    def _artifact_zip(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], artifact_id: str
    ) -> Scripted:
        return Scripted(302, b"", {"Location": self.artifact_urls[int(artifact_id)]})

    def _dependabot(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        if self.dependabot_denial is not None:
            return self.dependabot_denial
        page, headers = self._page(self.dependabot, request, query)
        return Scripted(200, page, headers)

    def _code_scanning(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        if self.code_scanning_denial is not None:
            return self.code_scanning_denial
        page, headers = self._page(self.code_scanning, request, query)
        return Scripted(200, page, headers)

    def _list_pulls(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        rows = [p for p in self.pulls if p["state"] == query.get("state", "open")]
        page, headers = self._page(rows, request, query)
        return Scripted(200, page, headers)

    # --- writes ---------------------------------------------------------------------
    def _create_blob(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        content = base64.b64decode(request.body["content"])
        sha = git_blob_sha(content)
        self.blobs[sha] = content
        body = example("short-blob")
        body.update(sha=sha, url=f"{self.base_url}/repos/{REPO}/git/blobs/{sha}")
        return Scripted(201, body, {"Location": body["url"]})

    def _create_tree(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        base = request.body.get("base_tree")
        if base is not None and base not in self.trees:
            return validation_failed(
                [{"resource": "Tree", "field": "base_tree", "code": "invalid"}]
            )
        entries = dict(self.trees.get(base, {}))
        for item in request.body["tree"]:
            if item.get("sha") is None:
                entries.pop(item["path"], None)
            elif item["sha"] not in self.blobs:
                return validation_failed(
                    [{"resource": "Tree", "field": "sha", "code": "invalid", "value": item["sha"]}]
                )
            else:
                entries[item["path"]] = item["sha"]
        sha = self._tree(entries)
        body = example("git-tree")
        body.update(sha=sha, truncated=False)
        return Scripted(201, body)

    def _create_commit(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        tree, parents, message = (
            request.body["tree"],
            request.body.get("parents", []),
            request.body["message"],
        )
        if tree not in self.trees or any(p not in self.commits for p in parents):
            return validation_failed([{"resource": "Commit", "field": "tree", "code": "invalid"}])
        sha = _sha("commit", tree, message, *parents)
        self.commits[sha] = FakeCommit(sha, tree, message, list(parents))
        body = example("git-commit")
        body.update(sha=sha, message=message)
        body["tree"]["sha"] = tree
        body["parents"] = [{"sha": p, "url": "", "html_url": ""} for p in parents]
        return Scripted(201, body)

    def _ref_body(self, branch: str) -> dict[str, Any]:
        body = example("git-ref")
        body["ref"] = f"refs/heads/{branch}"
        body["object"]["sha"] = self.refs[branch]
        return body

    def _create_ref(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        branch = request.body["ref"].removeprefix("refs/heads/")
        if branch in self.refs:
            return _error(422, "Reference already exists")
        if request.body["sha"] not in self.commits:
            return _error(422, "Object does not exist")
        self.refs[branch] = request.body["sha"]
        return Scripted(201, self._ref_body(branch))

    def _descends(self, sha: str, ancestor: str) -> bool:
        todo = [sha]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            todo += self.commits[current].parents
        return False

    def _update_ref(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], branch: str
    ) -> Scripted:
        if branch not in self.refs:
            return _error(422, "Reference does not exist")
        sha = request.body["sha"]
        if not request.body.get("force") and not self._descends(sha, self.refs[branch]):
            return _error(422, "Update is not a fast forward")
        self.refs[branch] = sha
        return Scripted(200, self._ref_body(branch))

    def _create_pull(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        head, base = request.body["head"], request.body["base"]
        if head not in self.refs:
            return validation_failed(
                [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
            )
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls):
            return validation_failed(
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for octocat:{head}.",
                    }
                ]
            )
        body = example("pull-request")
        body.update(
            number=len(self.pulls) + 1,
            title=request.body["title"],
            body=request.body.get("body", ""),
            draft=bool(request.body.get("draft")),
            state="open",
        )
        body["head"].update(ref=head, sha=self.refs[head])
        body["base"].update(ref=base, sha=self.refs[base])
        listed = example("pull-request-simple-items")[0]
        listed.update(number=body["number"], title=body["title"], draft=body["draft"], state="open")
        listed["head"].update(ref=head, sha=self.refs[head])
        listed["base"].update(ref=base, sha=self.refs[base])
        self.pulls.append(listed)
        return Scripted(201, body, {"Location": body["url"]})


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()
