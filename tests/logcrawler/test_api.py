"""The REST API: sources (token write-only), entries, fingerprints, alerts, the schema."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

import config.api.schema  # noqa: F401  (registers the token authentication's schema)
from logcrawler.models import ErrorFingerprint, LogSource, RuleKind, SourceKind
from tests.factories import api_client_for
from tests.logcrawler.helpers import NOW, entry, ingest, minutes, rule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rules")]


@pytest.fixture
def api(user: Any) -> APIClient:
    return api_client_for(user)


@pytest.fixture
def staff_api(staff: Any) -> APIClient:
    return api_client_for(staff)


def test_everything_needs_a_token() -> None:
    for url in ("sources/", "entries/", "fingerprints/", "alerts/"):
        assert APIClient().get(f"/api/logs/{url}").status_code == 401


def test_sources_never_return_their_token(staff_api: APIClient, api: APIClient) -> None:
    created = staff_api.post(
        "/api/logs/sources/",
        {
            "name": "rw",
            "kind": "railway",
            "token": "rw-secret-1",
            "settings": {"project_id": "p1", "services": ["api"]},
        },
        format="json",
    )

    assert created.status_code == 201, created.content
    listed = api.get("/api/logs/sources/").content.decode()
    assert "rw-secret-1" not in created.content.decode() + listed
    assert created.json()["has_token"] is True
    assert LogSource.objects.get().secret == "rw-secret-1"
    cleared = staff_api.patch(
        f"/api/logs/sources/{created.json()['id']}/", {"token": ""}, format="json"
    )
    assert cleared.json()["has_token"] is False


def test_source_settings_are_validated_per_kind(staff_api: APIClient) -> None:
    bad = staff_api.post(
        "/api/logs/sources/",
        {"name": "rw", "kind": "railway", "settings": {"services": "api", "token": "x"}},
        format="json",
    )

    assert bad.status_code == 400
    assert "settings" in bad.json()
    missing_path = staff_api.post(
        "/api/logs/sources/", {"name": "f", "kind": "file", "settings": {}}, format="json"
    )
    assert missing_path.status_code == 400


def test_a_plain_user_may_not_add_change_or_crawl_sources(api: APIClient) -> None:
    source = LogSource.objects.create(name="f", kind="file", settings={"path": "/x"})

    added = api.post(
        "/api/logs/sources/",
        {"name": "g", "kind": "file", "settings": {"path": "/x"}},
        format="json",
    )
    changed = api.patch(f"/api/logs/sources/{source.pk}/", {"enabled": False}, format="json")
    crawled = api.post(f"/api/logs/sources/{source.pk}/crawl/")

    assert (added.status_code, changed.status_code, crawled.status_code) == (403, 403, 403)
    assert "logcrawler.add_logsource" in added.json()["detail"]
    assert "logcrawler.crawl_logsource" in crawled.json()["detail"]
    assert list(LogSource.objects.values_list("name", "enabled")) == [("f", True)]


def test_an_operator_crawls_but_does_not_edit_sources(user: Any) -> None:
    user.groups.add(Group.objects.get(name="operator"))
    source = LogSource.objects.create(name="f", kind="http")
    api = api_client_for(user)

    assert api.patch(f"/api/logs/sources/{source.pk}/", {}, format="json").status_code == 403
    assert api.post(f"/api/logs/sources/{source.pk}/crawl/").status_code == 200


@pytest.mark.parametrize("action", ["mute", "resolve", "unmute"])
def test_a_plain_user_may_not_mute_or_resolve_an_error_group(api: APIClient, action: str) -> None:
    ingest(entry("disk /dev/sda1 full", at=NOW - minutes(2)))
    fingerprint = ErrorFingerprint.objects.get(level="ERROR")

    response = api.post(f"/api/logs/fingerprints/{fingerprint.id}/{action}/")

    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    fingerprint.refresh_from_db()
    assert fingerprint.state == "new"
    acknowledged = api.post(f"/api/logs/fingerprints/{fingerprint.id}/acknowledge/")
    assert acknowledged.status_code == 200, "acknowledging silences nothing: anyone may"


def test_crawl_a_source_through_the_api(staff_api: APIClient, tmp_path: Any) -> None:
    log = tmp_path / "a.log"
    log.write_text("ERROR one\nERROR two\n")
    source = LogSource.objects.create(name="f", kind=SourceKind.FILE, settings={"path": str(log)})

    response = staff_api.post(f"/api/logs/sources/{source.pk}/crawl/")

    assert response.json() == {
        "source": "f",
        "lines": 2,
        "status": "ok",
        "detail": "",
        "skipped": False,
    }


def test_entries_are_filtered_and_cursor_paginated(api: APIClient) -> None:
    ingest(
        *[entry(f"order {n} failed", at=NOW - minutes(n)) for n in range(5)],
        entry("all good", level="INFO", at=NOW),
        entry("order 9 failed", service="web"),
    )

    page = api.get("/api/logs/entries/?min_level=ERROR&service=api&page_size=2").json()
    assert [e["message"] for e in page["results"]] == ["order 0 failed", "order 1 failed"]
    second = api.get(page["next"]).json()
    assert [e["message"] for e in second["results"]] == ["order 2 failed", "order 3 failed"]
    assert api.get("/api/logs/entries/?q=GOOD").json()["results"][0]["message"] == "all good"
    assert api.get("/api/logs/entries/?level=LOUD").status_code == 400


def test_fingerprints_list_detail_and_actions(staff_api: APIClient) -> None:
    api = staff_api
    ingest(entry("disk /dev/sda1 full", at=NOW - minutes(2)), entry("cache warm", level="INFO"))
    fingerprint = ErrorFingerprint.objects.get(level="ERROR")

    listed = api.get("/api/logs/fingerprints/?min_level=ERROR").json()["results"]
    assert [row["id"] for row in listed] == [fingerprint.id]
    detail = api.get(f"/api/logs/fingerprints/{fingerprint.id}/").json()
    assert detail["recent_entries"][0]["message"] == "disk /dev/sda1 full"
    assert len(detail["hourly_counts"]) == 24 and "group" not in detail

    resolved = api.post(f"/api/logs/fingerprints/{fingerprint.id}/resolve/")
    assert resolved.json()["state"] == "resolved"
    assert api.post("/api/logs/fingerprints/nope/mute/").status_code == 404
    assert api.post(f"/api/logs/fingerprints/{fingerprint.id}/unmute/").status_code == 409
    assert api.get("/api/logs/fingerprints/?kind=nope").status_code == 400


def test_alerts_list_by_state(api: APIClient) -> None:
    rule(RuleKind.NEW_FINGERPRINT)
    ingest(entry("boom one"), entry("different failure entirely", level="CRITICAL"))

    open_alerts = api.get("/api/logs/alerts/?state=open").json()["results"]
    assert len(open_alerts) == 2 and open_alerts[0]["rule"] == "new_fingerprint"
    assert api.get("/api/logs/alerts/?state=resolved").json()["results"] == []
    assert api.get("/api/logs/alerts/?state=closed").status_code == 400


def test_the_logs_api_schema_generates_without_warnings() -> None:
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/logs/", include("logcrawler.api.urls"))])

    schema = generator.get_schema(request=None, public=True)

    assert "/api/logs/ingest/" in schema["paths"]
    assert "/api/logs/fingerprints/{id}/resolve/" in schema["paths"]
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache
