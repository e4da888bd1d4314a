"""POST /api/logs/ingest/ under abuse: too many entries, control characters, big pushes
stored a bounded chunk at a time (and resumed once, by key, after a failure part-way)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from logcrawler.models import IngestBatch, LogEntry
from logcrawler.services import http_ingest
from tests.factories import api_client_for

pytestmark = pytest.mark.django_db

URL = "/api/logs/ingest/"


@pytest.fixture
def client(user: Any) -> APIClient:
    return api_client_for(user)


def post(client: APIClient, body: Any, content_type: str = "application/json", **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.generic("POST", URL + extra.pop("query", ""), data, content_type, **extra)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps([{"message": f"job {n} failed"} for n in range(6)])),
        ("application/x-ndjson", "\n".join(json.dumps(f"job {n} failed") for n in range(6))),
        ("text/plain", "\n".join(f"ERROR job {n} failed" for n in range(6))),
    ],
    ids=["json", "ndjson", "text"],
)
def test_more_entries_than_the_limit_is_413_naming_it_and_stores_nothing(
    client: APIClient, settings: Any, content_type: str, body: str
) -> None:
    settings.LOGCRAWLER_INGEST_MAX_ENTRIES = 5

    response = post(client, body, content_type)

    assert response.status_code == 413
    answer = response.json()
    assert answer["code"] == "too_many_entries" and answer["limit"] == 5
    assert "more than 5 entries" in answer["detail"]
    assert "LOGCRAWLER_INGEST_MAX_ENTRIES" in answer["detail"]
    assert LogEntry.objects.count() == 0
    lines = body.splitlines() if content_type != "application/json" else None
    fewer = "\n".join(lines[:5]) if lines else json.dumps(json.loads(body)[:5])
    assert post(client, fewer, content_type).status_code == 201


def test_a_traceback_is_one_entry_against_the_limit(client: APIClient, settings: Any) -> None:
    settings.LOGCRAWLER_INGEST_MAX_ENTRIES = 1
    text = (
        "ERROR checkout failed\n"
        "Traceback (most recent call last):\n"
        '  File "/app/shop.py", line 3, in pay\n'
        "KeyError: 'NO'\n"
    )

    assert post(client, text, "text/plain").status_code == 201


def test_the_byte_limit_says_which_setting_it_is(client: APIClient, settings: Any) -> None:
    settings.LOGCRAWLER_INGEST_MAX_BYTES = 1024

    response = post(client, [{"message": "x" * 100} for _ in range(20)])

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large" and response.json()["limit"] == 1024
    assert "LOGCRAWLER_INGEST_MAX_BYTES" in response.json()["detail"]


@pytest.mark.parametrize("name", ["service", "source"])
def test_a_control_character_in_a_query_parameter_is_a_400_naming_it(
    client: APIClient, name: str
) -> None:
    response = post(client, [{"message": "payment failed"}], query=f"?{name}=sh%00op")

    assert response.status_code == 400
    assert list(response.json()) == [name]
    assert "control characters" in response.json()[name][0]
    assert LogEntry.objects.count() == 0


def test_a_nul_in_an_entrys_service_rejects_that_entry_naming_the_field(
    client: APIClient,
) -> None:
    response = post(
        client,
        [
            {"message": "payment failed", "service": "sh\u0000op"},
            {"message": "fine", "service": "shop"},
        ],
    )

    assert response.status_code == 201
    assert response.json()["rejected"] == [
        {"index": 0, "reason": "service must not contain control characters (NUL, newlines, ...)"}
    ]
    assert list(LogEntry.objects.values_list("service", flat=True)) == ["shop"]
    assert post(client, [{"message": "x", "service": "a\u0000"}]).status_code == 400


def test_a_big_push_is_stored_in_bounded_chunks_and_the_answer_adds_them_up(
    client: APIClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.LOGCRAWLER_BATCH_LINES = 2
    sizes: list[int] = []
    real = http_ingest.ingest_entries

    def counting(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["entries"]))
        return real(**kwargs)

    monkeypatch.setattr(http_ingest, "ingest_entries", counting)
    body = [{"message": f"order {n} failed", "service": "shop"} for n in range(5)]
    response = post(client, body)

    assert sizes == [2, 2, 1]
    answer = response.json()
    assert response.status_code == 201
    assert (answer["accepted"], answer["received"], answer["fingerprints"]) == (5, 5, 1)
    assert len(answer["new_fingerprints"]) == 1
    assert LogEntry.objects.count() == 5


def test_a_keyed_push_that_fails_part_way_stores_the_rest_once_when_retried(
    client: APIClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.LOGCRAWLER_BATCH_LINES = 2
    real = http_ingest.ingest_entries
    calls = {"n": 0}

    def failing_third_chunk(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("connection lost")
        return real(**kwargs)

    monkeypatch.setattr(http_ingest, "ingest_entries", failing_third_chunk)
    body = [{"message": f"order {n} failed", "service": "shop"} for n in range(6)]
    key = {"HTTP_IDEMPOTENCY_KEY": "push-77"}

    with pytest.raises(RuntimeError):
        post(client, body, **key)

    # The first two chunks were committed; the batch knows how far it got.
    assert LogEntry.objects.count() == 4
    batch = IngestBatch.objects.get()
    assert (batch.complete, batch.entries_done) == (False, 4)

    retried = post(client, body, **key)
    replayed = post(client, body, **key)

    assert retried.status_code == 201 and retried.json()["accepted"] == 6
    assert retried.json()["replayed"] is False
    assert replayed.status_code == 201 and replayed.json() == {**retried.json(), "replayed": True}
    messages = sorted(LogEntry.objects.values_list("message", flat=True))
    assert messages == sorted(f"order {n} failed" for n in range(6))


def test_a_key_reused_for_another_batch_is_refused_and_stores_nothing(
    client: APIClient,
) -> None:
    key = {"HTTP_IDEMPOTENCY_KEY": "push-9"}
    first = post(client, [{"message": "order 1 failed"}], **key)

    other = post(client, [{"message": "order 2 failed"}], **key)
    elsewhere = post(client, [{"message": "order 1 failed"}], query="?service=billing", **key)

    assert first.status_code == 201
    assert other.status_code == elsewhere.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert list(LogEntry.objects.values_list("message", flat=True)) == ["order 1 failed"]
    assert post(client, [{"message": "order 1 failed"}], **key).status_code == 201
