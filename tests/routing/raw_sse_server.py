"""An OpenAI-compatible server on a raw socket, for bodies `http.server` would not send: a
stream of server-sent events without chunked encoding, ended by closing the connection (legal
HTTP/1.1, RFC 9112 section 6.3), or announced by a Content-Length and then sent slowly.

Some OpenAI-compatible servers answer so; the issue that asked for this test saw a 30 s answer
arrive as one piece at its end.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

HEAD_END = b"\r\n\r\n"


def events(parts: list[str], *, model: str = "openai/gpt-4o-mini") -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        payload = {
            "id": "gen-raw",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(payload)}\n\n".encode()

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": part}) for part in parts]
    out.append(chunk({}, "stop", usage={"prompt_tokens": 5, "completion_tokens": len(parts)}))
    out.append(b"data: [DONE]\n\n")
    return out


class RawSSEServer:
    """Answers every POST with `body` (a list of SSE events), one event every `delay`
    seconds. `framing`: "close" (no length, the connection's end ends the body) or "length"
    (a Content-Length for the whole body, then the same slow writes)."""

    def __init__(self, body: list[bytes], *, delay: float, framing: str = "close") -> None:
        self.body, self.delay, self.framing = body, delay, framing
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._stopping = threading.Event()

    @property
    def base_url(self) -> str:
        host, port = self.sock.getsockname()
        return f"http://{host}:{port}/v1"

    def start(self) -> RawSSEServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            data = b""
            while HEAD_END not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(HEAD_END)
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])
            }
            length = int(headers.get("content-length", "0"))
            while len(rest) < length:
                rest += conn.recv(65536)
            self.requests.append({"line": lines[0], "body": json.loads(rest[:length])})
            status = [b"HTTP/1.1 200 OK", b"Content-Type: text/event-stream"]
            if self.framing == "length":
                status.append(f"Content-Length: {sum(len(e) for e in self.body)}".encode())
            else:
                status.append(b"Connection: close")
            conn.sendall(b"\r\n".join(status) + HEAD_END)
            for event in self.body:
                conn.sendall(event)
                if self._stopping.wait(self.delay):
                    return
            # "close": the body ends here, with the connection.
