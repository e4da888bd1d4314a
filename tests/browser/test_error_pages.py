"""Error pages look like the product: the site's layout, a sentence and a way back; the API
keeps answering JSON."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("path", "status", "back"),
    [
        ("/engine/tasks/999999/", 404, "Engine"),
        ("/chat/999999/", 404, "Chat"),
        ("/engine/?state=bogus", 400, "Engine"),
        ("/engine/?before=not-a-cursor", 400, "Engine"),
        ("/no-such-page/", 404, "Dashboard"),
    ],
)
def test_an_error_is_a_page_of_the_site_with_a_way_back(
    live_server: Any, page: Any, django_user_model: Any, path: str, status: int, back: str
) -> None:
    sign_in(page, live_server.url, django_user_model.objects.create_user(username="nina"))

    response = page.goto(live_server.url + path)

    assert response.status == status
    assert page.locator(".topbar nav.mainnav").is_visible(), "the navigation is there"
    assert page.locator(f".error-page[data-status='{status}'] h1").is_visible()
    way_back = page.locator(".error-page .btn-row a").first
    assert back in way_back.inner_text()
    way_back.click()
    page.wait_for_url("**/chat/" if back == "Chat" else "**/engine/")


def test_a_bad_filter_names_what_was_refused(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    sign_in(page, live_server.url, django_user_model.objects.create_user(username="nina"))
    page.goto(live_server.url + "/engine/?state=bogus")
    assert "state" in page.locator("#error-detail").inner_text()


def test_an_unknown_mode_for_a_new_session_is_a_page_too(
    live_server: Any, page: Any, django_user_model: Any
) -> None:
    sign_in(page, live_server.url, django_user_model.objects.create_user(username="nina"))
    page.goto(live_server.url + "/chat/")
    page.evaluate(
        "document.querySelector('.chat-new select')"
        ".appendChild(new Option('warp', 'warp', true, true))"
    )
    page.click(".chat-new button[type=submit]")
    assert page.locator(".error-page[data-status='400']").is_visible()
    assert "warp" in page.locator("#error-detail").inner_text()
