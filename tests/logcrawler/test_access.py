"""HTTP access lines: method, route shape with ids masked, status class."""

from __future__ import annotations

import pytest

from logcrawler.fingerprint import parse_access_line, route_shape
from logcrawler.fingerprint.access import access_from_attributes


@pytest.mark.parametrize(
    ("target", "shape"),
    [
        ("/orders/8812", "/orders/<*>"),
        ("/orders/8812/", "/orders/<*>"),
        ("/users/3fa85f64-5717-4562-b3fc-2c963f66afa6/avatar", "/users/<*>/avatar"),
        ("/objects/5f2b9c1e7a", "/objects/<*>"),
        ("/api/v2/search?q=shoes&page=3", "/api/v2/search"),
        ("https://shop.example.com/cart/77#top", "/cart/<*>"),
        ("/oauth2/callback", "/oauth2/callback"),
        ("/", "/"),
    ],
)
def test_route_shapes_mask_ids_and_drop_queries(target: str, shape: str) -> None:
    assert route_shape(target) == shape


@pytest.mark.parametrize(
    "line",
    [
        '10.1.2.3 - - [01/May/2024:12:00:00 +0000] "GET /orders/8812 HTTP/1.1" 404 512 "-" "curl"',
        'INFO:     10.1.2.3:5100 - "GET /orders/8812 HTTP/1.1" 404 Not Found',
        "GET /orders/8812 404 3ms",
    ],
)
def test_access_line_formats(line: str) -> None:
    access = parse_access_line(line)

    assert access is not None
    assert access.key == ("GET", "/orders/<*>", "4xx")
    assert access.status == 404


def test_lines_that_only_mention_a_method_are_not_access_lines() -> None:
    assert parse_access_line("GET requests are cached for 300 seconds") is None
    assert parse_access_line("retrying in 5 s") is None


def test_structured_fields() -> None:
    access = access_from_attributes({"method": "post", "path": "/pay/12", "httpStatus": "502"})

    assert access is not None
    assert access.key == ("POST", "/pay/<*>", "5xx")
    assert access_from_attributes({"method": "GET", "path": "/x"}) is None
    assert access_from_attributes({"method": "GET", "path": "/x", "status": "abc"}) is None
