"""Real-browser tests: headless Chromium from the system, driven by Playwright's sync API."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.test import Client

from tests.chat.live import Daphne

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def page(
    transactional_db: None, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A fresh browser tab. Playwright is started per test, after the database is ready, and
    stopped before it is flushed: its sync API keeps an event loop running in this thread,
    which would otherwise trip Django's async-safety check (and any asyncio test after it)."""
    from playwright.sync_api import sync_playwright

    # While the loop runs, the test body still makes its own rows synchronously.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()
        # Django keeps connections per context, and the test body ran inside Playwright's:
        # close the ones it opened, or PostgreSQL cannot drop the test database at the end.
        connections.close_all()


@pytest.fixture
def daphne(page: Any) -> Iterator[Daphne]:
    """A real Daphne (websockets, the in-memory layer and its database relay) serving the
    pages and their static files, for tests that need the live streams."""
    importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed(apps, None)
    server = Daphne(layer="memory", extra_env={"SERVE_STATIC": "true"})
    yield server
    server.stop()


def sign_in(page: Any, site: Daphne | str, user: Any) -> None:
    """Give the browser a login of `user` at `site` (a Daphne, or a live server's URL) through
    a session row: the server process hashes passwords its own way, so a form login with the
    test's users would not match."""
    client = Client()
    client.force_login(user)
    cookie = settings.SESSION_COOKIE_NAME
    url = site if isinstance(site, str) else site.http
    page.context.add_cookies([{"name": cookie, "value": client.cookies[cookie].value, "url": url}])
