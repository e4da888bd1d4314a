"""HTTP access lines: grouped by method, route shape and status class.

``GET /orders/8812 404`` and ``GET /orders/17 404`` are one fingerprint; a 500 on the same
route is another, and so is a POST.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from logcrawler.fingerprint.masking import WILDCARD

_METHODS = "GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE"
_ACCESS = re.compile(
    rf'(?<![\w/])"?(?P<method>{_METHODS}) (?P<target>\S+)(?: HTTP/\d(?:\.\d)?)?"? '
    r"(?P<status>[1-5]\d\d)\b"
)
# HAProxy's HTTP log puts the status after the timers (Tq/Tw/Tc/Tr/Ta) and the quoted
# request at the end: "... be_api/srv1 0/0/1/12/13 200 512 - - ---- ... "GET /x HTTP/1.1"".
_HAPROXY_ACCESS = re.compile(
    r"\s-?\d+(?:/[+-]?\d+){3,4} (?P<status>[1-5]\d\d) .*"
    rf'"(?P<method>{_METHODS}) (?P<target>\S+)(?: HTTP/\d(?:\.\d)?)?"'
)
# Tokens that start an access line's request; a message without one is not an access line.
METHOD_TOKENS = frozenset(
    prefix + method for method in _METHODS.split("|") for prefix in ("", '"', "'", "[")
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_ID = re.compile(r"(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}")
_LONG_ID_LENGTH = 8
_METHOD_KEYS = ("method", "http_method", "httpMethod", "request_method")
_PATH_KEYS = ("path", "route", "url", "requestPath", "request_path", "uri")
_STATUS_KEYS = ("status", "httpStatus", "status_code", "statusCode", "http_status")


@dataclass(frozen=True, slots=True)
class AccessLine:
    method: str
    route: str
    status: int

    @property
    def status_class(self) -> str:
        return f"{self.status // 100}xx"

    @property
    def key(self) -> tuple[str, ...]:
        return (self.method, self.route, self.status_class)


def _is_id_segment(segment: str) -> bool:
    if segment.isdigit():
        return True
    if not any(char.isdigit() for char in segment):
        return False
    return (
        _UUID.fullmatch(segment) is not None
        or _HEX_ID.fullmatch(segment) is not None
        or len(segment) >= _LONG_ID_LENGTH
    )


def route_shape(target: str) -> str:
    """The path of a request target with query, fragment, host and ids removed."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    segments = [WILDCARD if _is_id_segment(part) else part for part in path.split("/")]
    shaped = "/".join(segments)
    if len(shaped) > 1:
        shaped = shaped.rstrip("/")
    return shaped or "/"


def parse_access_line(message: str) -> AccessLine | None:
    """The request in an access-log line (common/combined log format as nginx and Apache
    write it, Envoy's default format, uvicorn, HAProxy's HTTP log, plain)."""
    match = _ACCESS.search(message) or _HAPROXY_ACCESS.search(message)
    if match is None:
        return None
    return AccessLine(
        method=match.group("method"),
        route=route_shape(match.group("target")),
        status=int(match.group("status")),
    )


def _first(attributes: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = attributes.get(name)
        if value:
            return str(value)
    return ""


def access_from_attributes(attributes: Mapping[str, str]) -> AccessLine | None:
    """The request in structured fields (Railway's HTTP logs, JSON access logs), if any."""
    method = _first(attributes, _METHOD_KEYS).upper()
    target = _first(attributes, _PATH_KEYS)
    status = _first(attributes, _STATUS_KEYS)
    if not method or not target or not status.isdigit() or not 100 <= int(status) <= 599:
        return None
    return AccessLine(method=method, route=route_shape(target), status=int(status))
