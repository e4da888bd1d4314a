"""The system-health page, its live fragment, a fingerprint's page and their buttons."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from logcrawler.models import ErrorFingerprint, FingerprintState, LogSource, RuleKind, SourceKind
from tests.logcrawler.helpers import TRACEBACK, access, entry, ingest, minutes, rule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rules")]


@pytest.fixture
def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def operator(client: Client, user: Any) -> Client:
    """Alice in the operator role: she may mute, resolve and crawl."""
    user.groups.add(Group.objects.get(name="operator"))
    client.force_login(user)
    return client


@pytest.fixture
def errors() -> list[ErrorFingerprint]:
    now = timezone.now()
    rule(RuleKind.NEW_FINGERPRINT)
    ingest(
        *[entry("payment gateway timed out after 5000 ms", at=now - minutes(n)) for n in range(6)],
        entry(TRACEBACK, at=now - minutes(30)),
        access(503, at=now - minutes(2)),
        entry("user 7 logged in", level="INFO", at=now),
        now=now,
    )
    return list(ErrorFingerprint.objects.order_by("-total_count"))


def test_the_pages_need_a_login(client: Client) -> None:
    for url in ("/logs/", "/logs/live/", "/logs/fingerprints/abc/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_lists_the_top_errors_with_a_sparkline_each(
    signed_in: Client, errors: list[ErrorFingerprint]
) -> None:
    response = signed_in.get("/logs/?range=hour")

    assert response.status_code == 200
    html = response.content.decode()
    top = re.findall(r'<tr data-fingerprint="(\w+)"', html)
    assert top[0] == errors[0].id
    assert len(top) == 3  # the INFO line is not an error
    assert html.count('class="lc-spark-line"') == 3
    assert "payment gateway timed out after &lt;*&gt;" in html
    assert "Open alerts" in html and "task #" in html


def test_warnings_are_included_on_request(signed_in: Client) -> None:
    ingest(entry("slow query took 2300 ms", level="WARNING", at=timezone.now()))

    assert "data-fingerprint" not in signed_in.get("/logs/").content.decode()
    assert "data-fingerprint" in signed_in.get("/logs/?level=warning").content.decode()


def test_the_page_renders_empty(signed_in: Client) -> None:
    html = signed_in.get("/logs/?range=week").content.decode()

    assert "No errors in the last week" in html
    assert "No log source yet" in html


def test_the_live_fragment_is_the_same_panels(
    signed_in: Client, errors: list[ErrorFingerprint]
) -> None:
    html = signed_in.get("/logs/live/?range=day").content.decode()

    assert "<html" not in html
    assert f'data-fingerprint="{errors[0].id}"' in html


def test_sources_show_their_health_and_never_their_token(signed_in: Client) -> None:
    LogSource.objects.create(
        name="railway-prod",
        kind=SourceKind.RAILWAY,
        secret="rw-secret-token-123",
        status="error",
        last_error="Railway refused the token (HTTP 401)",
    )

    html = signed_in.get("/logs/").content.decode()

    assert "railway-prod" in html and "Railway refused the token" in html
    assert "rw-secret-token-123" not in html


def test_a_fingerprint_page_has_its_chart_samples_and_task(
    signed_in: Client, errors: list[ErrorFingerprint]
) -> None:
    fingerprint = errors[0]

    response = signed_in.get(f"/logs/fingerprints/{fingerprint.id}/?range=hour")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="lc-bar"') == 6
    assert html.count("payment gateway timed out after 5000 ms") >= 6
    assert f"/engine/tasks/{fingerprint.task_id}/" in html


def test_an_unknown_fingerprint_is_404(signed_in: Client) -> None:
    assert signed_in.get("/logs/fingerprints/nope/").status_code == 404


@pytest.mark.parametrize(
    ("action", "state"),
    [("acknowledge", "acknowledged"), ("resolve", "resolved"), ("mute", "muted")],
)
def test_the_buttons_change_the_state_and_come_back(
    operator: Client, errors: list[ErrorFingerprint], action: str, state: str
) -> None:
    fingerprint = errors[0]

    response = operator.post(
        f"/logs/fingerprints/{fingerprint.id}/{action}/", {"next": "/logs/?range=hour"}
    )

    assert response.status_code == 302 and response["Location"] == "/logs/?range=hour"
    fingerprint.refresh_from_db()
    assert fingerprint.state == state
    assert fingerprint.state_changed_by == "user:alice"


def test_buttons_are_post_only_and_refuse_unknown_actions(
    operator: Client, errors: list[ErrorFingerprint]
) -> None:
    fingerprint = errors[0]

    assert operator.get(f"/logs/fingerprints/{fingerprint.id}/resolve/").status_code == 405
    assert operator.post(f"/logs/fingerprints/{fingerprint.id}/delete/").status_code == 404
    assert operator.post("/logs/fingerprints/nope/resolve/").status_code == 404
    response = operator.post(f"/logs/fingerprints/{fingerprint.id}/unmute/", follow=True)
    assert "is not muted" in response.content.decode()
    fingerprint.refresh_from_db()
    assert fingerprint.state == FingerprintState.NEW


@pytest.mark.parametrize("action", ["mute", "resolve"])
def test_a_plain_user_may_not_mute_or_resolve_an_error_group(
    signed_in: Client, errors: list[ErrorFingerprint], action: str
) -> None:
    fingerprint = errors[0]
    page = signed_in.get(f"/logs/fingerprints/{fingerprint.id}/").content.decode()

    response = signed_in.post(f"/logs/fingerprints/{fingerprint.id}/{action}/", follow=True)

    assert f'data-action="{action}"' not in page, "no button for what one may not do"
    assert "logcrawler." in response.content.decode()  # the refusal names the permission
    fingerprint.refresh_from_db()
    assert fingerprint.state == FingerprintState.NEW


def test_an_offsite_next_is_ignored(signed_in: Client, errors: list[ErrorFingerprint]) -> None:
    fingerprint = errors[0]

    response = signed_in.post(
        f"/logs/fingerprints/{fingerprint.id}/acknowledge/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == f"/logs/fingerprints/{fingerprint.id}/"


def test_crawl_now_needs_the_crawl_permission(client: Client, user: Any, tmp_path: Any) -> None:
    log = tmp_path / "a.log"
    log.write_text("ERROR something broke\n")
    source = LogSource.objects.create(name="f", kind=SourceKind.FILE, settings={"path": str(log)})
    client.force_login(user)
    assert client.post(f"/logs/sources/{source.pk}/crawl/").status_code == 403
    source.refresh_from_db()
    assert source.lines_read == 0

    user.groups.add(Group.objects.get(name="operator"))
    response = client.post(f"/logs/sources/{source.pk}/crawl/", follow=True)

    source.refresh_from_db()
    assert source.lines_read == 1
    assert "f: 1 entries stored" in response.content.decode()


def test_the_page_costs_the_same_queries_for_more_errors_and_sources(
    signed_in: Client, errors: list[ErrorFingerprint]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        signed_in.get("/logs/?range=day")
    now = timezone.now()
    ingest(
        *[entry(f"distinct failure number {n} kind {'x' * n}", at=now) for n in range(12)], now=now
    )
    for n in range(5):
        LogSource.objects.create(name=f"s{n}", kind=SourceKind.HTTP)
    with CaptureQueriesContext(connection) as many:
        signed_in.get("/logs/?range=day")

    assert len(many) == len(few)
