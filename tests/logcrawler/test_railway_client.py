"""The Railway client's queries against Railway's published schema, and what it makes of
Railway's refusals, through the local fake (which holds every query to that schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from graphql import parse, validate

from logcrawler.sources.base import SourceError
from logcrawler.sources.railway_client import QUERIES, RailwayLogsClient
from tests.logcrawler.fake_railway import FakeRailway, Scripted, railway_schema

CLI_QUERIES = sorted((Path(__file__).parent / "railway_api").glob("*/strings/*.graphql"))
# What the client sent before it followed the schema: httpLogs has no startDate or endDate.
OLD_HTTP_LOGS_QUERY = """
query HttpLogs($deploymentId: String!, $limit: Int, $startDate: String, $endDate: String) {
  httpLogs(deploymentId: $deploymentId, limit: $limit, startDate: $startDate,
           endDate: $endDate) { timestamp method path httpStatus }
}"""


def problems(document: str) -> list[str]:
    return [error.message for error in validate(railway_schema(), parse(document))]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_query_the_client_sends_is_valid_against_railways_schema(name: str) -> None:
    assert problems(QUERIES[name]) == []


@pytest.mark.parametrize(
    "path", CLI_QUERIES, ids=lambda path: f"{path.parent.parent.name}/{path.name}"
)
def test_the_official_clis_log_queries_are_valid_so_the_schema_is_the_right_one(
    path: Path,
) -> None:
    assert problems(path.read_text()) == []


def test_arguments_the_schema_lacks_are_refused() -> None:
    found = problems(OLD_HTTP_LOGS_QUERY)

    assert any("Unknown argument 'startDate'" in message for message in found)
    assert any("Unknown argument 'endDate'" in message for message in found)


def post(fake: FakeRailway, query: str, variables: dict[str, Any]) -> requests.Response:
    return requests.post(
        fake.url,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {fake.token}"},
        timeout=5,
    )


def test_the_fake_refuses_an_invalid_query_as_a_graphql_server_does(
    fake_railway: FakeRailway,
) -> None:
    fake_railway.expect_valid = False
    fake_railway.deploy("dep-1")

    response = post(fake_railway, OLD_HTTP_LOGS_QUERY, {"deploymentId": "dep-1"})

    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "startDate" in body["errors"][0]["message"]
    assert body["errors"][0]["locations"]


def test_the_fake_refuses_variables_that_do_not_fit_their_types(
    fake_railway: FakeRailway,
) -> None:
    fake_railway.expect_valid = False

    response = post(fake_railway, QUERIES["HttpLogs"], {"deploymentId": 7, "beforeLimit": "x"})

    assert response.status_code == 400
    codes = {error["extensions"]["code"] for error in response.json()["errors"]}
    assert codes == {"BAD_USER_INPUT"}


def test_the_fake_answers_exactly_the_fields_asked_for(fake_railway: FakeRailway) -> None:
    fake_railway.deploy("dep-1")
    fake_railway.request_log("dep-1", "2025-06-02T12:00:00.000000001Z", "GET", "/", 200)

    response = post(
        fake_railway,
        "query($id: String!) { httpLogs(deploymentId: $id, beforeDate: "
        '"2025-06-02T11:00:00Z", anchorDate: "2025-06-02T13:00:00Z", beforeLimit: 5) '
        "{ timestamp httpStatus } }",
        {"id": "dep-1"},
    )

    assert response.status_code == 200
    assert response.json() == {
        "data": {"httpLogs": [{"timestamp": "2025-06-02T12:00:00.000000001Z", "httpStatus": 200}]}
    }


def client_for(fake: FakeRailway, token: str = "") -> RailwayLogsClient:
    return RailwayLogsClient(url=fake.url, token=token or fake.token, max_retry_wait=0)


@pytest.mark.parametrize("status", [400, 200])
def test_a_refused_query_is_an_error_in_railways_words_whatever_the_status(
    fake_railway: FakeRailway, status: int
) -> None:
    fake_railway.expect_valid = False
    fake_railway.validation_status = status

    with pytest.raises(SourceError) as raised:
        client_for(fake_railway).query(OLD_HTTP_LOGS_QUERY, {"deploymentId": "dep-1"})

    assert "Unknown argument 'startDate' on field 'Query.httpLogs'" in str(raised.value)


def test_a_field_error_names_the_field_it_concerns(fake_railway: FakeRailway) -> None:
    fake_railway.deploy("dep-1")
    fake_railway.fail("httpLogs", "Problem processing request", deploymentId="dep-1")

    with pytest.raises(SourceError) as raised:
        client_for(fake_railway).http_logs(
            deployment_id="dep-1", start_ns=0, end_ns=10**18, limit=10
        )

    assert str(raised.value) == "Railway GraphQL error: Problem processing request (at httpLogs)"


def test_railways_text_is_redacted_of_our_token_and_anything_shaped_like_a_key(
    fake_railway: FakeRailway,
) -> None:
    token = "d2c1e2f3-0000-4000-8000-abcdefabcdef"
    fake_railway.token = token
    fake_railway.script(
        Scripted(
            401,
            {
                "errors": [
                    {"message": f"token {token} is revoked; try Authorization: Bearer {token}"},
                    {"message": "upstream said api_key=sk-live-0123456789abcdef"},
                ]
            },
        )
    )

    with pytest.raises(SourceError) as raised:
        client_for(fake_railway, token).service_ids("proj-1")

    text = str(raised.value)
    assert token not in text and "sk-live-0123456789abcdef" not in text
    assert text.startswith("Railway refused the token (HTTP 401): token [redacted] is revoked")
