"""`GatewayFastPath`: the gateway served on long-lived worker threads, driven over ASGI."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections

from engine.services import create_api_token
from routing.gateway import asgi as fast_path_module
from routing.gateway.asgi import GatewayFastPath
from routing.gateway.views import SettledAfterSending
from routing.models import ModelCall, Outcome
from routing.services import budgets
from tests.factories import UserFactory
from tests.routing.factories import held_for_calls_in_flight
from tests.routing.fake_openrouter import FakeOpenRouter, completion, streamed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("routing_defaults", "openrouter_settings"),
]

ASK = {"model": "mode:ops", "messages": [{"role": "user", "content": "status?"}]}


class Inner:
    """Stands for the project's ASGI app: whatever the fast path does not serve."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


async def _drive(
    app: Any,
    scope: dict[str, Any],
    body: bytes,
    hang_up_after: int | None,
    log: list[str] | None = None,
) -> list[Any]:
    sent: list[Any] = []
    requested = False
    hung_up = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if log is not None and message["type"] == "http.response.body":
            log.append("body sent")
        chunks = [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
        if hang_up_after is not None and len(chunks) >= hang_up_after:
            hung_up.set()

    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return sent


def http_scope(
    path: str, *, body: dict[str, Any] | None = None, token: str = "", host: str = "127.0.0.1"
) -> dict[str, Any]:
    headers = [(b"host", host.encode()), (b"content-type", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST" if body is not None else "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


def call(
    app: Any,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    token: str = "",
    host: str = "127.0.0.1",
    hang_up_after: int | None = None,
    log: list[str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    scope = http_scope(path, body=body, token=token, host=host)
    sent = asyncio.run(
        _drive(app, scope, json.dumps(body).encode() if body else b"", hang_up_after, log)
    )
    start = sent[0]
    response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], response_headers, content


@pytest.fixture
def inner() -> Inner:
    return Inner()


@pytest.fixture
def app(inner: Inner) -> Iterator[GatewayFastPath]:
    fast_path = GatewayFastPath(inner)
    yield fast_path
    fast_path.close()


@pytest.fixture
def token() -> str:
    return create_api_token(user=UserFactory(), name="agent")[1]


def test_a_completion_is_served_by_the_gateway_view(
    app: GatewayFastPath, inner: Inner, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    openrouter_settings.script(completion("All green.", model="openai/gpt-4o-mini", cost="0.0001"))

    status, headers, content = call(app, "/v1/chat/completions", body=ASK, token=token)

    assert status == 200, content
    assert json.loads(content)["choices"][0]["message"]["content"] == "All green."
    assert headers["content-length"] == str(len(content))
    assert headers["x-content-type-options"] == "nosniff"
    assert inner.paths == []
    assert ModelCall.objects.get().source == "gateway"


def test_other_paths_go_to_the_wrapped_app(app: GatewayFastPath, inner: Inner) -> None:
    status, _, content = call(app, "/engine/")

    assert (status, content, inner.paths) == (404, b"inner", ["/engine/"])


def test_errors_keep_the_openai_shape(app: GatewayFastPath) -> None:
    status, _, content = call(app, "/v1/chat/completions", body=ASK)

    assert status == 401
    assert json.loads(content)["error"]["code"] == "invalid_api_key"


def test_a_host_not_allowed_is_a_400_in_openai_shape(app: GatewayFastPath, token: str) -> None:
    status, headers, content = call(app, "/v1/models", token=token, host="evil.example")

    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(content)["error"]["type"] == "invalid_request_error"


def test_a_stream_arrives_chunk_by_chunk(
    app: GatewayFastPath, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    openrouter_settings.script(streamed(["one ", "two"], model="openai/gpt-4o-mini", cost="0.0002"))

    status, headers, content = call(
        app, "/v1/chat/completions", body={**ASK, "stream": True}, token=token
    )

    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    lines = [line for line in content.decode().split("\n\n") if line]
    assert lines[-1] == "data: [DONE]"
    text = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        for line in lines[:-1]
        if json.loads(line[6:])["choices"]
    )
    assert text == "one two"
    assert ModelCall.objects.get().outcome == Outcome.OK


def test_a_client_that_hangs_up_mid_stream_ends_the_call(
    app: GatewayFastPath, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    openrouter_settings.script(
        streamed(["a ", "b ", "c ", "d ", "e ", "f"], model="openai/gpt-4o-mini", event_delay=0.05)
    )

    status, _, content = call(
        app,
        "/v1/chat/completions",
        body={**ASK, "stream": True},
        token=token,
        hang_up_after=2,
    )

    assert status == 200
    assert b"[DONE]" not in content
    call_row = ModelCall.objects.get()
    assert (call_row.outcome, call_row.error_code) == (Outcome.ERROR, "abandoned")
    assert held_for_calls_in_flight() == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(
    app: GatewayFastPath, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = {"model": "mode:ops", "messages": [{"role": "user", "content": "x" * 5000}]}

    status, _, content = call(app, "/v1/chat/completions", body=big)

    assert status == 413
    assert json.loads(content)["error"]["code"] == "request_too_large"


def test_a_lone_surrogate_is_a_400_in_the_openai_shape(app: GatewayFastPath, token: str) -> None:
    body = {"model": "mode:ops", "messages": [{"role": "user", "content": "\ud800"}]}

    status, _, content = call(app, "/v1/chat/completions", body=body, token=token)

    assert status == 400, content
    assert json.loads(content)["error"]["type"] == "invalid_request_error"


def test_a_completion_is_settled_after_its_answer_is_sent(
    app: GatewayFastPath,
    token: str,
    openrouter_settings: FakeOpenRouter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    openrouter_settings.script(completion("Done.", model="openai/gpt-4o-mini", cost="0.0001"))
    order: list[str] = []
    settle = budgets.settle

    def noting_settle(*args: Any) -> Any:
        order.append("settled")
        return settle(*args)

    monkeypatch.setattr(budgets, "settle", noting_settle)

    status, _, content = call(app, "/v1/chat/completions", body=ASK, token=token, log=order)

    assert status == 200, content
    assert order == ["body sent", "settled"]
    row = ModelCall.objects.get()
    assert json.loads(content)["id"] == row.request_id
    assert held_for_calls_in_flight() == 0


def test_a_settlement_that_fails_after_the_answer_is_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = budgets.HeldSettlements()
    monkeypatch.setattr(held, "settle_all", lambda: (_ for _ in ()).throw(RuntimeError("db")))
    response = SettledAfterSending({"ok": True}, held=held)

    response.close()  # as the server does once the body is out

    assert "settling a call after its answer failed" in caplog.text


def test_a_connection_used_a_moment_ago_skips_the_health_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(fast_path_module.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(fast_path_module, "_last_use", threading.local())
    ModelCall.objects.exists()  # the connection is open
    database = connections["default"]

    database.health_check_done = False
    fast_path_module._trust_recent_connections()
    assert database.health_check_done is False  # first request on this thread: checked

    now[0] += 0.5
    fast_path_module._trust_recent_connections()
    assert database.health_check_done is True

    database.health_check_done = False
    now[0] += fast_path_module.RECENT_USE_SECONDS + 0.1
    fast_path_module._trust_recent_connections()
    assert database.health_check_done is False  # idle too long: checked again


def _only_the_request(body: dict[str, Any]) -> Any:
    """A `receive` that hands over the request, then waits as a connected client does."""
    messages = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


async def _refuse_to_send(message: Any) -> None:
    raise OSError("the client is gone")  # a server that reports a send it cannot make


def test_a_completion_the_server_gives_up_on_is_still_settled(
    app: GatewayFastPath, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    """Daphne cancels a request 10 s after its client left; the view runs on, and the call
    it made must still reach the ledger and free its reservation."""
    openrouter_settings.script(
        completion("Late.", model="openai/gpt-4o-mini", cost="0.0001", delay=0.5)
    )
    scope = http_scope("/v1/chat/completions", body=ASK, token=token)

    async def abandon() -> None:
        request = asyncio.ensure_future(app(scope, _only_the_request(ASK), _refuse_to_send))
        await asyncio.sleep(0.25)  # the upstream call is under way, its estimate reserved
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request

    asyncio.run(abandon())
    app.close()  # waits for the worker's queue: the view, then its response's close

    row = ModelCall.objects.get()
    assert (row.outcome, row.cost) == (Outcome.OK, Decimal("0.0001"))
    assert held_for_calls_in_flight() == 0


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_that_cannot_be_sent_is_still_settled(
    app: GatewayFastPath, token: str, openrouter_settings: FakeOpenRouter, stream: bool
) -> None:
    if stream:
        openrouter_settings.script(streamed(["a ", "b"], model="openai/gpt-4o-mini", cost="0.0002"))
    else:
        openrouter_settings.script(completion("Done.", model="openai/gpt-4o-mini", cost="0.0001"))
    body = {**ASK, "stream": stream}
    scope = http_scope("/v1/chat/completions", body=body, token=token)

    with pytest.raises(OSError, match="the client is gone"):
        asyncio.run(app(scope, _only_the_request(body), _refuse_to_send))
    app.close()

    row = ModelCall.objects.get()
    # A stream never read is ended as abandoned: the upstream may bill what it generated.
    assert (row.outcome, row.error_code) == (
        (Outcome.ERROR, "abandoned") if stream else (Outcome.OK, "")
    )
    assert held_for_calls_in_flight() == 0


def test_a_request_after_one_given_up_on_does_not_wait_behind_it(
    app: GatewayFastPath, token: str, openrouter_settings: FakeOpenRouter
) -> None:
    """The abandoned request's view still runs on its worker thread; the next request must
    get another thread, not queue behind it."""
    openrouter_settings.script(
        completion("Late.", model="openai/gpt-4o-mini", cost="0.0001", delay=1.0),
        completion("Next.", model="openai/gpt-4o-mini", cost="0.0001"),
    )
    scope = http_scope("/v1/chat/completions", body=ASK, token=token)
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def scenario() -> float:
        first = asyncio.ensure_future(app(scope, _only_the_request(ASK), _refuse_to_send))
        await asyncio.sleep(0.25)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        started = time.monotonic()
        await app(scope, _only_the_request(ASK), send)
        return time.monotonic() - started

    elapsed = asyncio.run(scenario())
    app.close()

    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"])["choices"][0]["message"]["content"] == "Next."
    assert elapsed < 0.5  # behind the first, it would wait ~0.75 s more for its upstream
    assert ModelCall.objects.count() == 2 and held_for_calls_in_flight() == 0


def test_a_settlement_that_fails_leaves_the_refusal_the_client_is_owed(
    app: GatewayFastPath,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from routing.models import Policy

    Policy.objects.filter(mode="ops").update(daily_ceiling=0)

    def broken(self: Any) -> Any:
        raise RuntimeError("the ledger is unreachable")

    monkeypatch.setattr(budgets.HeldSettlements, "settle_all", broken)

    status, _, content = call(app, "/v1/chat/completions", body=ASK, token=token)

    assert status == 402, content  # the budget refusal, not a 500
    assert json.loads(content)["error"]["code"] == "budget_exceeded"
    assert "settling a call after its answer failed" in caplog.text


def test_the_most_recently_released_worker_serves_the_next_request() -> None:
    """Its connection was used a moment ago (no health check) and its memory is warm."""
    workers = fast_path_module._Workers()
    first, second = workers.acquire(), workers.acquire()
    assert first is not second
    try:
        workers.release(first)
        workers.release(second)

        assert workers.acquire() is second
        assert workers.acquire() is first
        third = workers.acquire()
        assert third not in (first, second)  # none idle: a new one
        third.shutdown(wait=True)
    finally:
        for worker in (first, second):
            worker.shutdown(wait=True)
        workers.close()


def test_the_gateway_keeps_no_more_idle_threads_than_the_pool_allows(
    app: GatewayFastPath, token: str, settings: Any
) -> None:
    """Each idle thread kept a database connection before the pool (issue 15)."""
    settings.DATABASE_POOL_MAX = 3

    async def burst() -> list[Any]:
        scope = http_scope("/v1/chat/completions", body=ASK, token=token)
        raw = json.dumps(ASK).encode()
        return await asyncio.gather(*(_drive(app, dict(scope), raw, None) for _ in range(8)))

    answers = asyncio.run(burst())
    idle = len(app.workers._idle)

    assert [sent[0]["status"] for sent in answers] == [200] * 8
    assert 1 <= idle <= 3
