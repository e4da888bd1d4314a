"""/api/codehealth/reports/: list (cursor-paginated, by repository), read, write one now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from codehealth.models import Repository, WeeklyReport
from codehealth.services.weekly import last_complete_week, write_weekly_report
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo
from tests.factories import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(user: Any) -> APIClient:
    return api_client_for(user)


@pytest.fixture
def repository(make_repo: Callable[..., GitRepo]) -> Repository:
    repository = register(make_repo({"app.py": "import os\n"}))
    scan(repository)
    return repository


def test_reports_need_a_person(repository: Repository) -> None:
    assert APIClient().get("/api/codehealth/reports/").status_code in (401, 403)


def test_list_newest_week_first_with_a_cursor_and_read_one(
    api: APIClient, repository: Repository
) -> None:
    week = last_complete_week()  # the week before this one; the scan ran this week
    older = write_weekly_report(
        repository=repository, week_start=week - timedelta(days=7), actor="system:test"
    )
    newer = write_weekly_report(
        repository=repository, week_start=week + timedelta(days=7), actor="system:test"
    )

    first = api.get("/api/codehealth/reports/?page_size=1").json()
    assert [r["id"] for r in first["results"]] == [newer.pk]
    second = api.get(first["next"]).json()
    assert [r["id"] for r in second["results"]] == [older.pk]
    assert api.get("/api/codehealth/reports/?repository=other").json()["results"] == []
    assert api.get("/api/codehealth/reports/?page_size=0").status_code == 400

    detail = api.get(f"/api/codehealth/reports/{newer.pk}/").json()
    assert detail["repository"] == "project" and detail["complete"] is False
    assert detail["markdown_url"] == f"/codehealth/reports/{newer.pk}/markdown/"
    assert "trend" in detail["sections"] and detail["open_total"] == 1


def test_write_one_now_and_bad_input_names_the_field(
    api: APIClient, repository: Repository
) -> None:
    today = timezone.now().date()
    written = api.post(
        "/api/codehealth/reports/",
        {"repository": "project", "week": today.isoformat()},
        format="json",
    )
    assert written.status_code == 201
    assert written.json()["complete"] is False and written.json()["generated_by"] == "user:alice"

    default = api.post("/api/codehealth/reports/", {"repository": "project"}, format="json")
    assert default.json()["week_start"] == last_complete_week().isoformat()
    assert WeeklyReport.objects.count() == 2

    missing = api.post("/api/codehealth/reports/", {"repository": "nope"}, format="json")
    assert missing.status_code == 404 and "repository" in missing.json()
    for body, field in (
        ({"repository": "project", "week": "0001-01-01"}, "week"),
        ({"repository": "project", "week": (today + timedelta(days=8)).isoformat()}, "week"),
        ({"repository": "project", "week": "monday"}, "week"),
    ):
        refused = api.post("/api/codehealth/reports/", body, format="json")
        assert refused.status_code == 400 and field in str(refused.json()), body
