"""Every page under the Content-Security-Policy, in headless Chromium, through the real
server (Daphne and the project's ASGI stack): no script, style or connection refused, no
script error, and the pages' own scripts ran."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from chat.models import ChatSession
from codehealth.models import WeeklyReport
from engine.models import Task
from logcrawler.models import ErrorFingerprint
from selfheal.models import PlaybookExecution
from tests.browser.conftest import sign_in
from tests.chat.live import Daphne

pytestmark = pytest.mark.browser


def pages() -> list[str]:
    task = Task.objects.order_by("pk").first()
    session = ChatSession.objects.order_by("pk").first()
    fingerprint = ErrorFingerprint.objects.order_by("pk").first()
    paths = [
        "/engine/",
        "/engine/tasks/new/",
        "/chat/",
        "/selfheal/",
        "/logs/",
        "/codehealth/",
        "/codehealth/reports/",
        "/routing/",
        "/admin/",
        "/admin/engine/task/",
        "/api/docs/",
    ]
    if task:
        paths.append(f"/engine/tasks/{task.pk}/")
    if session:
        paths.append(f"/chat/{session.pk}/")
    if fingerprint:
        paths.append(f"/logs/fingerprints/{fingerprint.pk}/")
    report = WeeklyReport.objects.order_by("pk").first()
    if report:
        paths.append(f"/codehealth/reports/{report.pk}/")
    execution = PlaybookExecution.objects.order_by("pk").first()
    if execution:
        paths.append(f"/selfheal/executions/{execution.pk}/")
    return paths


def watch(page: Any) -> list[str]:
    """Collect what the browser refused or failed on."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP refused ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return problems


def test_every_page_works_under_the_content_security_policy(
    page: Any, daphne: Daphne, staff: Any
) -> None:
    call_command("seed_demo", verbosity=0)
    call_command("codehealth_report", stdout=StringIO())  # the demo repository's last week
    sign_in(page, daphne, staff)
    problems = watch(page)

    for path in pages():
        response = page.goto(daphne.http + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        assert problems == [], (path, problems)

    # The pages' own scripts ran: the live indicator of the base layout, Swagger's UI.
    page.goto(daphne.http + "/engine/")
    page.locator("#connection-indicator:not([hidden])").wait_for()
    page.goto(daphne.http + "/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert problems == []


def test_the_sign_in_page_and_its_refusal_work_under_the_policy(page: Any) -> None:
    server = Daphne(
        layer="memory", extra_env={"SERVE_STATIC": "true", "LOGIN_FAILURES_PER_ACCOUNT": "1"}
    )
    try:
        problems = watch(page)
        response = page.goto(server.http + "/accounts/login/")
        assert "content-security-policy" in response.headers
        for _ in range(2):
            page.fill("input[name=username]", "nobody")
            page.fill("input[name=password]", "wrong")
            page.click("button[type=submit]")
            page.locator(".form-error").wait_for()

        assert "Too many sign-in attempts" in page.locator("h1").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "login-refused.png"))
        # The 429 itself is the one expected failure to load.
        assert [p for p in problems if "429" not in p] == []
    finally:
        server.stop()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
