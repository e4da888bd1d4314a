"""A local package index on 127.0.0.1 answering as PyPI's JSON API and npm's registry do.

PyPI: ``GET /pypi/<name>/json`` with ``info.version`` and ``releases``, an ``ETag``, a 304
for a matching ``If-None-Match``, and ``{"message": "Not Found"}`` with 404 for an unknown
project. npm: ``GET /<name>`` (``@scope%2Fname`` for a scoped one) in the abbreviated form
(``application/vnd.npm.install-v1+json``: ``dist-tags``, ``versions``, ``modified``) and
``{"error": "Not found"}`` with 404. ``failing`` makes every answer that status.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class FakeIndex:
    pypi: dict[str, list[str]] = field(default_factory=dict)  # name -> versions, oldest first
    npm: dict[str, list[str]] = field(default_factory=dict)
    failing: int | None = None
    requests: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeIndex:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(Seen(self.path, dict(self.headers.items())))
                status, body, etag = fake.answer(self.path, self.headers.get("Accept", ""))
                if status == 200 and etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def answer(self, path: str, accept: str) -> tuple[int, Any, str]:
        if self.failing is not None:
            return self.failing, {"message": "Service Unavailable"}, ""
        if path.startswith("/pypi/") and path.endswith("/json"):
            name = unquote(path.removeprefix("/pypi/").removesuffix("/json"))
            versions = self.pypi.get(name)
            if versions is None:
                return 404, {"message": "Not Found"}, ""
            body = {
                "info": {"name": name, "version": versions[-1]},
                "releases": {v: [] for v in versions},
                "urls": [],
            }
        else:
            name = unquote(path.lstrip("/"))
            versions = self.npm.get(name)
            if versions is None:
                return 404, {"error": "Not found"}, ""
            assert "application/vnd.npm.install-v1+json" in accept
            body = {
                "name": name,
                "dist-tags": {"latest": versions[-1]},
                "versions": {v: {"name": name, "version": v} for v in versions},
                "modified": "2026-12-01T00:00:00.000Z",
            }
        etag = f'"{hashlib.sha1(json.dumps(body).encode(), usedforsecurity=False).hexdigest()}"'
        return 200, body, etag
