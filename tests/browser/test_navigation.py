"""Each section's name agrees with its address: the navigation's name is the page's title, and
the address says the same word (an operator who reads "Logs" finds it at /logs/)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def squashed(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def test_every_section_is_named_as_its_address(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    sign_in(page, live_server.url, django_user_model.objects.create_user(username="nina"))
    page.goto(live_server.url + "/engine/")
    links = page.eval_on_selector_all(
        ".mainnav a", "els => els.map(a => [a.textContent.trim(), a.getAttribute('href')])"
    )
    assert len(links) >= 7

    for name, href in links:
        segment = href.strip("/").split("/")[0]
        assert squashed(segment) in squashed(name), f"{name!r} lives at {href!r}"
        page.goto(live_server.url + href)
        assert page.title().startswith(name), (name, page.title())
        assert page.locator(".mainnav a[aria-current=page]").inner_text() == name
