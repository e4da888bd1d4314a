"""Answers match the OpenAPI schema the project serves: a client generated from it must not
break on a real answer (a null it was told cannot be null, a missing field it was promised)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from chat.services import create_session
from engine.services import create_task
from engine.services.history import system_actor
from logcrawler.models import LogSource, SourceKind
from selfheal.models import PlaybookExecution
from tests.factories import api_client_for

pytestmark = pytest.mark.django_db


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0's dialect as JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture
def api(staff: Any) -> APIClient:
    return api_client_for(staff)


@pytest.fixture
def openapi(api: APIClient) -> dict[str, Any]:
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return dict(response.json())


def assert_matches_schema(
    openapi: dict[str, Any], response: Any, *, path: str, method: str
) -> None:
    documented = openapi["paths"][path][method]["responses"][str(response.status_code)]
    body_schema = documented["content"]["application/json"]["schema"]
    schema = {**json_schema(body_schema), "components": json_schema(openapi["components"])}
    jsonschema.validate(response.json(), schema)


def test_a_task_the_system_created_matches_its_schema(
    api: APIClient, openapi: dict[str, Any]
) -> None:
    task = create_task(title="nightly", kind="echo", actor=system_actor("schedule")).task
    assert task.created_by is None and task.decided_by is None

    response = api.get(f"/api/tasks/{task.pk}/")

    assert response.status_code == 200
    assert_matches_schema(openapi, response, path="/api/tasks/{id}/", method="get")


def test_a_session_without_an_owner_matches_its_schema(
    api: APIClient, openapi: dict[str, Any]
) -> None:
    session = create_session(owner=None, mode="ops", title="started by an alert")

    response = api.get(f"/api/chat/sessions/{session.pk}/")

    assert response.status_code == 200
    assert response.json()["owner"] is None
    assert_matches_schema(openapi, response, path="/api/chat/sessions/{id}/", method="get")


def test_an_execution_no_rule_started_matches_its_schema(
    api: APIClient, openapi: dict[str, Any]
) -> None:
    execution = PlaybookExecution.objects.create(playbook="diagnose", triggered_by="user:bob")

    response = api.get(f"/api/selfheal/executions/{execution.pk}/")

    assert response.status_code == 200
    assert response.json()["rule"] is None
    assert_matches_schema(openapi, response, path="/api/selfheal/executions/{id}/", method="get")


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/api/tasks/{id}/approve/", "/api/tasks/999999/approve/"),
        ("/api/selfheal/executions/{id}/", "/api/selfheal/executions/999999/"),
    ],
)
def test_a_plain_404_matches_the_documented_error(
    api: APIClient, openapi: dict[str, Any], path: str, url: str
) -> None:
    method = "post" if url.endswith("approve/") else "get"

    response = getattr(api, method)(url)

    assert response.status_code == 404
    assert_matches_schema(openapi, response, path=path, method=method)


def test_a_crawl_answers_with_its_report(api: APIClient, openapi: dict[str, Any]) -> None:
    source = LogSource.objects.create(
        name="slow",
        kind=SourceKind.FILE,
        settings={"path": "var/none.log"},
        retry_after=timezone.now() + timedelta(minutes=5),
    )

    response = api.post(f"/api/logs/sources/{source.pk}/crawl/")

    assert response.status_code == 200
    assert response.json()["skipped"] is True
    assert_matches_schema(openapi, response, path="/api/logs/sources/{id}/crawl/", method="post")


def test_code_health_answers_match_their_schema(
    api: APIClient, openapi: dict[str, Any], tmp_path: Any, settings: Any
) -> None:
    from codehealth.models import AutoPR, Finding, Scan
    from codehealth.services import propose_patch
    from codehealth.services.weekly import write_weekly_report
    from tests.codehealth.conftest import register, scan
    from tests.codehealth.gitrepo import python_repo
    from tests.codehealth.test_patches import PATCH

    settings.CODEHEALTH_WORK_DIR = tmp_path / "work"
    repo = python_repo(tmp_path / "r", {"app.py": "A = 1\nB = 2\n", "lib.py": "import os\n"})
    repository = register(repo)
    done: Scan = scan(repository)
    finding = Finding.objects.first()
    assert finding is not None
    autopr: AutoPR = propose_patch(
        repository=repository, diff=PATCH, title="B", actor=system_actor("test")
    )
    report = write_weekly_report(
        repository=repository, week_start=timezone.now().date(), actor=system_actor("test")
    )

    answers = [
        ("/api/codehealth/scans/{id}/", f"/api/codehealth/scans/{done.pk}/"),
        ("/api/codehealth/scans/", "/api/codehealth/scans/"),
        ("/api/codehealth/findings/", "/api/codehealth/findings/?state=current"),
        ("/api/codehealth/findings/{id}/", f"/api/codehealth/findings/{finding.pk}/"),
        ("/api/codehealth/autoprs/{id}/", f"/api/codehealth/autoprs/{autopr.pk}/"),
        ("/api/codehealth/repositories/", "/api/codehealth/repositories/"),
        ("/api/codehealth/reports/", "/api/codehealth/reports/"),
        ("/api/codehealth/reports/{id}/", f"/api/codehealth/reports/{report.pk}/"),
    ]
    for path, url in answers:
        response = api.get(url)
        assert response.status_code == 200, url
        assert_matches_schema(openapi, response, path=path, method="get")
    refused = api.post(f"/api/codehealth/findings/{finding.pk}/reopen/", {}, format="json")
    assert refused.status_code == 409
    assert_matches_schema(
        openapi, refused, path="/api/codehealth/findings/{id}/reopen/", method="post"
    )
