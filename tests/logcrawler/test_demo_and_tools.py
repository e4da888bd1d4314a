"""The demo seeder, the chat tools and the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from chat.tools import ToolContext, tools
from engine.services.demo import seed_demo_data
from logcrawler.models import Alert, ErrorFingerprint, LogEntry, LogSource, SourceKind
from logcrawler.services.demo import DEMO_SOURCE, rebased_sample, seed_logcrawler_demo
from tests.logcrawler.helpers import TRACEBACK, entry, ingest, minutes

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings: Any, tmp_path: Any) -> str:
    settings.VAR_DIR = tmp_path
    return seed_logcrawler_demo()


def test_the_sample_is_rebased_to_end_a_minute_ago() -> None:
    now = timezone.now().replace(microsecond=0)

    text = rebased_sample(now=now)

    last = [line for line in text.splitlines() if line[:4].isdigit()][-1]
    assert last.startswith((now - minutes(1)).strftime("%Y-%m-%dT%H:%M:%S"))


def test_the_demo_seeder_fills_the_page_once(demo: str, client: Client, user: Any) -> None:
    assert "entries" in demo
    source = LogSource.objects.get(name=DEMO_SOURCE)
    assert source.kind == SourceKind.FILE and source.lines_read > 500
    assert ErrorFingerprint.objects.filter(kind="traceback").count() >= 2
    assert ErrorFingerprint.objects.filter(status_class="5xx").exists()
    assert Alert.objects.exists()
    assert seed_logcrawler_demo() == "already loaded"
    assert "logcrawler: already loaded" in seed_demo_data()

    client.force_login(user)
    html = client.get("/logs/?range=hour").content.decode()
    assert html.count("data-fingerprint=") >= 3


def test_the_chat_tools_are_registered_and_answer() -> None:
    now = timezone.now()
    ingest(entry("payment gateway timed out", at=now), entry(TRACEBACK, at=now), now=now)
    context = ToolContext(session_id=1, owner_id=1, mode="ops")
    fingerprint = ErrorFingerprint.objects.get(kind="traceback")

    top = tools.get("logs_top_errors")
    search = tools.get("logs_search_entries")
    detail = tools.get("logs_fingerprint_detail")
    assert top and search and detail

    assert len(top.function(context, {"range": "hour"})["errors"]) == 2
    found = search.function(context, {"query": "gateway", "min_level": "ERROR"})
    assert [row["message"] for row in found["entries"]] == ["payment gateway timed out"]
    shown = detail.function(context, {"fingerprint": fingerprint.id})
    assert shown["kind"] == "traceback" and len(shown["hourly_counts_last_day"]) == 24
    assert shown["recent_entries"][0]["fingerprint"] == fingerprint.id
    assert top.argument_errors({"range": "year"})


def test_the_tools_refuse_a_group_or_service_that_does_not_exist_naming_those_that_do() -> None:
    now = timezone.now()
    ingest(entry("payment gateway timed out", at=now, service="billing"), now=now)
    (fingerprint,) = ErrorFingerprint.objects.all()
    context = ToolContext(session_id=1, owner_id=1, mode="ops")
    search, detail = tools.get("logs_search_entries"), tools.get("logs_fingerprint_detail")
    top = tools.get("logs_top_errors")
    assert search and detail and top

    (unknown,) = detail.problems(context, {"fingerprint": "f00"})
    assert unknown.startswith("fingerprint: no fingerprint 'f00'; the top ones this week: ")
    assert fingerprint.id in unknown
    assert search.problems(context, {"service": "payments"}) == [
        "service: no log lines from 'payments'; the services: billing"
    ]
    assert top.problems(context, {"service": "payments"})
    assert search.problems(context, {"service": "billing", "fingerprint": fingerprint.id}) == []
    assert detail.problems(context, {"fingerprint": fingerprint.id}) == []


def test_the_admin_shows_sources_without_their_token(client: Client, staff: Any) -> None:
    source = LogSource.objects.create(
        name="rw",
        kind=SourceKind.RAILWAY,
        secret="rw-secret-42",
        settings={"project_id": "p", "services": []},
    )
    ingest(entry("boom"))
    client.force_login(staff)

    for url in (
        "/admin/logcrawler/logsource/",
        f"/admin/logcrawler/logsource/{source.pk}/change/",
        "/admin/logcrawler/logentry/",
        "/admin/logcrawler/errorfingerprint/",
        "/admin/logcrawler/alertrule/",
        "/admin/logcrawler/alert/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "rw-secret-42" not in response.content.decode()


def test_the_admin_keeps_a_token_left_blank_and_acts_on_fingerprints(
    client: Client, staff: Any
) -> None:
    source = LogSource.objects.create(
        name="rw",
        kind=SourceKind.RAILWAY,
        secret="rw-secret-42",
        settings={"project_id": "p", "services": []},
    )
    client.force_login(staff)
    response = client.post(
        f"/admin/logcrawler/logsource/{source.pk}/change/",
        {
            "name": "rw",
            "kind": "railway",
            "enabled": "on",
            "settings": '{"project_id": "p2", "services": []}',
            "token": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert source.secret == "rw-secret-42" and source.settings["project_id"] == "p2"

    ingest(entry("boom"))
    fingerprint = ErrorFingerprint.objects.get()
    client.post(
        "/admin/logcrawler/errorfingerprint/",
        {"action": "resolve", "_selected_action": [fingerprint.id]},
    )
    fingerprint.refresh_from_db()
    assert fingerprint.state == "resolved"
    assert LogEntry.objects.count() == 1
