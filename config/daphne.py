"""Daphne with a limit on request bodies: ``python -m config.daphne [daphne's options] APP``.

Daphne (4.2) reads a request's whole body before it calls the application: Twisted keeps it in
memory (or a temporary file past 100 kB), then Daphne puts all of it in the application's
queue at once. An ASGI layer cannot refuse it in time; a 600 MB POST grew the process by
827 MiB before any answer. Here Daphne's request refuses a body over REQUEST_MAX_BODY_BYTES
itself: a Content-Length over the limit is answered 413 as soon as the headers are in (no
`100 Continue`, not a byte of the body read), and a body without one (chunked) is cut off
at the limit; either way the connection closes. The `serve` command and docs/security.md
start Daphne this way; `config.body_limit` holds the same limit under other servers.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from django.conf import settings

from config.body_limit import too_large_body


class BodyLimitedRequest(WebRequest):
    _limit = 0
    _received = 0
    _refused = False

    def gotLength(self, length: int | None) -> None:
        self._limit = settings.REQUEST_MAX_BODY_BYTES
        if length is not None and length > self._limit:
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._received > self._limit:
            self._refuse()
            return
        super().handleContentChunk(data)

    def process(self) -> Any:
        if self._refused:  # the rest of a refused body arrived before the connection closed
            return None
        return super().process()

    def _refuse(self) -> None:
        self._refused = True
        self.content = BytesIO()  # what was kept of the body goes
        # Twisted answers `Expect: 100-continue` right after gotLength: the client must not
        # be invited to send what is refused.
        self.requestHeaders.removeHeader(b"Expect")
        body = too_large_body(self._limit)
        head = (
            b"HTTP/1.1 413 Content Too Large\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"Connection: close\r\n\r\n"
        )
        self.channel.transport.write(head + body)
        self.channel.transport.loseConnection()


class BodyLimitedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BodyLimitedRequest
        return protocol


def main() -> None:
    # Daphne's Server.run() builds its HTTP factory from this module-level name, with no
    # option to pass one; tests/config/test_body_limits.py starts this entry point and fails
    # if a Daphne release stops honouring it.
    daphne_server.HTTPFactory = BodyLimitedHTTPFactory
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
