"""A real HTTP server on 127.0.0.1 that answers as OpenRouter does, scripted per test.

It speaks the wire format, not a summary of it: chunked server-sent events with
`: OPENROUTER PROCESSING` comment lines, tool calls split across chunks, `usage` with `cost`
in the last chunk, `data: [DONE]`; errors as `{"error": {"code", "message"}}` with their
status codes and `Retry-After`; an error inside a 200 stream; a connection dropped mid-stream;
a slow answer. It records every request (headers and body) for the test to inspect.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int = 0  # which connection it came on: a kept-alive one keeps its port


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[str] | None = None  # raw SSE text blocks, sent one chunk each
    drop_after: int | None = None  # close the socket after this many events
    delay: float = 0.0  # before the status line
    event_delay: float = 0.0  # between events
    linger: float = 0.0  # after the last event, before the body's end


def _chunk(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def completion(
    content: str | None = "Hello from the fake.",
    *,
    model: str = "openai/gpt-4o-mini",
    tool_calls: list[dict[str, Any]] | None = None,
    prompt_tokens: int = 12,
    completion_tokens: int = 7,
    cost: float | str | None = None,
    delay: float = 0.0,
) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cost is not None:
        usage["cost"] = json.loads(str(cost))
    body = {
        "id": "gen-fake-1",
        "provider": "FakeProvider",
        "model": model,
        "object": "chat.completion",
        "created": int(time.time()),
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls" if tool_calls else "stop",
                "message": message,
            }
        ],
        "usage": usage,
    }
    return Reply(body=body, delay=delay)


def streamed(
    parts: list[str] | None = None,
    *,
    model: str = "openai/gpt-4o-mini",
    tool_calls: list[dict[str, Any]] | None = None,
    prompt_tokens: int = 12,
    completion_tokens: int = 7,
    cost: float | str | None = None,
    comments: int = 2,
    drop_after: int | None = None,
    error_after: int | None = None,
    done: bool = True,
    event_delay: float = 0.0,
) -> Reply:
    """A stream of `parts` of text and/or `tool_calls`, each call's arguments in 3 pieces."""
    base = {
        "id": "gen-fake-stream",
        "provider": "FakeProvider",
        "model": model,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
    }
    events = [": OPENROUTER PROCESSING\n\n"] * comments
    events.append(
        _chunk(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": ""},
                        "finish_reason": None,
                    }
                ],
            }
        )
    )
    for part in parts or []:
        events.append(
            _chunk(
                {
                    **base,
                    "choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}],
                }
            )
        )
    for index, call in enumerate(tool_calls or []):
        arguments = call["arguments"]
        third = max(len(arguments) // 3, 1)
        pieces = [arguments[:third], arguments[third : 2 * third], arguments[2 * third :]]
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        }
        events.append(
            _chunk(
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}
                    ],
                }
            )
        )
        for piece in pieces:
            fragment = {"index": index, "function": {"arguments": piece}}
            events.append(
                _chunk(
                    {
                        **base,
                        "choices": [
                            {"index": 0, "delta": {"tool_calls": [fragment]}, "finish_reason": None}
                        ],
                    }
                )
            )
    if error_after is not None:
        error_chunk = {
            **base,
            "error": {"code": "server_error", "message": "Provider disconnected"},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        }
        events.insert(error_after, _chunk(error_chunk))
        return Reply(events=events[: error_after + 1], event_delay=event_delay)
    finish = "tool_calls" if tool_calls else "stop"
    events.append(_chunk({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cost is not None:
        usage["cost"] = json.loads(str(cost))
    events.append(_chunk({**base, "choices": [], "usage": usage}))
    if done:
        events.append("data: [DONE]\n\n")
    return Reply(events=events, drop_after=drop_after, event_delay=event_delay)


def error(status: int, message: str, *, retry_after: str | None = None) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(
        status=status, body={"error": {"code": status, "message": message}}, headers=headers
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, the second waits ~40 ms for
    # the client's delayed ACK, which is no part of any latency worth measuring.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        fake = self.server.fake
        fake.record(
            Recorded("GET", self.path, dict(self.headers.items()), None, self.client_address[1])
        )
        if self.path.rstrip("/").endswith("/models"):
            self._send(fake.models_reply or Reply(body={"data": fake.models}))
        else:
            self._send(error(404, "Not Found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        fake = self.server.fake
        fake.record(
            Recorded("POST", self.path, dict(self.headers.items()), body, self.client_address[1])
        )
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(error(404, "Not Found"))
            return
        wants_stream = isinstance(body, dict) and body.get("stream") is True
        self._send(fake.next_reply(stream=wants_stream))

    def _send(self, reply: Reply) -> None:
        if reply.delay and self.server.fake.stopping.wait(reply.delay):
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.events is None:
            payload = json.dumps(reply.body).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for count, event in enumerate(reply.events):
            if reply.drop_after is not None and count >= reply.drop_after:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if reply.event_delay:
                time.sleep(reply.event_delay)
            data = event.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        if reply.linger and self.server.fake.stopping.wait(reply.linger):
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: 64 callers at once would see connections dropped
    # by the fake itself (the bench's load run), which no real upstream does.
    request_queue_size = 128
    fake: FakeOpenRouter

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-stream is a case under test, not a fault of the fake.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeOpenRouter:
    def __init__(self, *, port: int = 0) -> None:
        self.server = _Server(("127.0.0.1", port), _Handler)
        self.server.fake = self
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = completion()
        self.default_stream: Reply | None = None  # answers `stream: true` when nothing is scripted
        self.requests: list[Recorded] = []
        self.models: list[dict[str, Any]] = []
        self.models_reply: Reply | None = None
        self.keep_requests = True
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/api/v1"

    def start(self) -> FakeOpenRouter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self, *, stream: bool = False) -> Reply:
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        if stream and self.default_stream is not None:
            return self.default_stream
        return self.default or error(500, "the fake has no reply scripted")

    def record(self, request: Recorded) -> None:
        if not self.keep_requests:
            return
        with self._lock:
            self.requests.append(request)

    @property
    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]


def main() -> None:
    """Serve until killed, answering every call (plain or streamed) the same way: for benches."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    port = parser.parse_args().port
    fake = FakeOpenRouter(port=port)
    fake.default = completion("The gateway bench answer.", cost="0.000004")
    fake.default_stream = streamed(
        ["The ", "gateway ", "bench ", "answer."], cost="0.000004", comments=1
    )
    fake.keep_requests = False
    print(fake.base_url, flush=True)  # noqa: T201 - the parent process reads the URL
    fake.server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
