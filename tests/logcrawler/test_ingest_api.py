"""POST /api/logs/ingest/: formats, per-entry validation, limits, idempotency, auth."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from logcrawler.models import ErrorFingerprint, IngestBatch, LogEntry, LogSource, SourceKind
from tests.factories import api_client_for
from tests.logcrawler.helpers import TRACEBACK

pytestmark = pytest.mark.django_db

URL = "/api/logs/ingest/"


@pytest.fixture
def client(user: Any) -> APIClient:
    return api_client_for(user)


def post(client: APIClient, body: Any, content_type: str = "application/json", **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.generic("POST", URL + extra.pop("query", ""), data, content_type, **extra)


def test_a_json_array_of_entries_is_stored(client: APIClient) -> None:
    response = post(
        client,
        [
            {
                "message": "payment declined for order 8812",
                "level": "warning",
                "service": "pay",
                "timestamp": "2025-06-02T12:00:00.123456789Z",
                "attributes": {"order": 8812},
            },
            "2025-06-02T12:00:01Z ERROR shop.db: connection refused",
        ],
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["accepted"], body["received"], body["rejected"]) == (2, 2, [])
    first = LogEntry.objects.get(service="pay")
    assert first.level == "WARNING" and first.attributes == {"order": "8812"}
    assert first.ts.isoformat() == "2025-06-02T12:00:00.123456+00:00"
    assert LogSource.objects.get().kind == SourceKind.HTTP


def test_bad_entries_are_reported_by_index_and_the_good_ones_kept(client: APIClient) -> None:
    response = post(
        client,
        [
            {"message": "ok one"},
            {"level": "error"},
            {"message": "bad time", "timestamp": "last tuesday"},
            {"message": "bad level", "level": "loud"},
            42,
            {"message": "ok two", "attributes": ["not", "an", "object"]},
            {"message": "ok three"},
        ],
    )

    assert response.status_code == 201
    body = response.json()
    assert body["accepted"] == 2
    assert [item["index"] for item in body["rejected"]] == [1, 2, 3, 4, 5]
    reasons = " ".join(item["reason"] for item in body["rejected"])
    assert "message is required" in reasons and "timestamp" in reasons
    assert "not a log level" in reasons and "attributes must be an object" in reasons


def test_only_bad_entries_is_a_400_naming_each(client: APIClient) -> None:
    response = post(client, [{"msg": ""}, {}])

    assert response.status_code == 400
    assert [item["index"] for item in response.json()["rejected"]] == [0, 1]
    assert LogEntry.objects.count() == 0


def test_ndjson_lines_each_an_entry(client: APIClient) -> None:
    body = '{"message": "first"}\n\n{"message": "second"}\nnot json\n"a raw line"\n'

    response = post(client, body, "application/x-ndjson")

    assert response.status_code == 201
    assert response.json()["accepted"] == 3
    assert response.json()["rejected"] == [{"index": 3, "reason": "not valid JSON"}]


def test_plain_text_lines_with_a_traceback_joined(client: APIClient) -> None:
    body = "2025-06-02T12:00:00Z ERROR shop.views: Checkout failed\n" + TRACEBACK + "\nINFO next\n"

    response = post(client, body, "text/plain", query="?service=shop")

    assert response.status_code == 201
    assert response.json()["accepted"] == 2
    assert ErrorFingerprint.objects.filter(kind="traceback", service="shop").exists()


def test_a_traceback_sent_one_entry_per_line_is_joined(client: APIClient) -> None:
    lines = ["Checkout failed", *TRACEBACK.splitlines()]

    response = post(client, [{"message": line, "level": "error"} for line in lines])

    assert response.json()["accepted"] == 1
    assert LogEntry.objects.get().message == "\n".join(lines)


def test_a_retried_batch_with_the_same_key_is_stored_once(client: APIClient) -> None:
    batch = [{"message": "order 1 failed"}, {"message": "order 2 failed"}]

    first = post(client, batch, HTTP_IDEMPOTENCY_KEY="batch-0001")
    again = post(client, batch, HTTP_IDEMPOTENCY_KEY="batch-0001")
    other = post(client, batch, HTTP_IDEMPOTENCY_KEY="batch-0002")

    # Answered as the first time: 201, marked as a replay.
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == {**first.json(), "replayed": True}
    assert LogEntry.objects.count() == 4
    assert IngestBatch.objects.count() == 2


def test_a_body_over_the_limit_is_413_and_nothing_is_read(client: APIClient, settings: Any) -> None:
    settings.LOGCRAWLER_INGEST_MAX_BYTES = 1024
    big = [{"message": "x" * 100} for _ in range(20)]

    response = post(client, big)

    assert response.status_code == 413
    assert "1024 bytes" in response.json()["detail"]
    assert LogEntry.objects.count() == 0
    assert post(client, big[:5]).status_code == 201


def test_not_json_is_400_and_an_unknown_type_415(client: APIClient) -> None:
    assert post(client, "[{").status_code == 400
    assert post(client, {"entries": "nope"}).status_code == 400
    assert post(client, "x", "application/xml").status_code == 415


def test_a_named_source_must_be_an_http_source(client: APIClient) -> None:
    LogSource.objects.create(name="files", kind=SourceKind.FILE, settings={"path": "/x"})
    LogSource.objects.create(name="edge", kind=SourceKind.HTTP)

    assert post(client, [{"message": "a"}], query="?source=files").status_code == 404
    assert post(client, [{"message": "a"}], query="?source=edge").status_code == 201
    assert LogEntry.objects.get().source.name == "edge"


def test_a_token_is_required(client: APIClient) -> None:
    anonymous = APIClient()

    assert post(anonymous, [{"message": "a"}]).status_code == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert post(wrong, [{"message": "a"}]).status_code == 401
    assert LogEntry.objects.count() == 0


def test_lone_surrogates_are_stored_replaced_and_every_reader_still_works(
    client: APIClient,
) -> None:
    body = (
        '[{"message": "g \\ud800 failed", "service": "s\\udfff"},'
        ' "\\ud800 raw line failed",'
        ' {"message": "f", "attributes": {"k\\ud800": "\\ud800"}}]'
    )

    response = post(client, body)

    assert response.status_code == 201, response.content
    assert LogEntry.objects.count() == 3
    assert all("\ufffd" in e.message or e.attributes for e in LogEntry.objects.all())
    assert client.get("/api/logs/entries/").status_code == 200
    for fingerprint in ErrorFingerprint.objects.all():
        assert client.get(f"/api/logs/fingerprints/{fingerprint.pk}/").status_code == 200
