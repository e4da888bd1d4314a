"""Stream latency and throughput: publish() to a websocket client through a real Daphne.

    .venv/bin/python bench/stream.py [--duration 5] [--sessions 100] [--rate 10]
        [--burst 20000] [--batch 50] [--idle 5] [--layers memory,relay,relay-poll,pubsub,redis]

Each configuration starts Daphne (config.asgi, wrapped to add one publishing endpoint) on a
free port, against a fresh SQLite file (or DATABASE_URL), with one channel layer:

- ``memory``: the in-memory layer; events published inside the Daphne process (what a REST
  action does), since that layer does not cross processes;
- ``relay``: the in-memory layer, events published by another process (what the worker
  does); they reach Daphne through chat's database relay, woken by the publisher's wake-up
  datagram (chat.services.wakeup; the safety-net poll CHAT_RELAY_POLL_MS left at its default);
- ``relay-poll``: the same with wake-ups off (CHAT_RELAY_WAKE=false): the relay polls every
  25 ms, as it did before wake-ups; the relay's baseline in the same run;
- ``pubsub``: channels_redis's RedisPubSubChannelLayer (what settings.py uses with
  REDIS_URL), events published by another process;
- ``redis``: channels_redis's plain RedisChannelLayer, the same way, for comparison (given
  ``socket_timeout=None``: redis-py 8's 5 s default breaks its blocking receive).

Latency: `--sessions` websocket clients (token auth) each watch one session; a publisher
sends `--rate` events a second to every session for `--duration` seconds, each event (a
`message.delta`, the hot path) carrying the monotonic time just before
`chat.services.publish` (which validates, stores the event with its seq, and sends it).
Latency = arrival at the client - that time.
Reported for 1 session and for `--sessions` sessions: p50, p95, p99, max, whether every
event arrived exactly once and in seq order, and how long the publisher took (`publish_s`:
`--duration` on schedule; more means a starved publisher fell behind, and the clients wait
for it, then GRACE_SECONDS for stragglers).

Idle cost (relay layers): with one stream open and nothing published, the queries the Daphne
process runs in `--idle` seconds (counted by a wrapper on its connections), per second.

Throughput: one session, `--burst` events published as fast as possible in
`publish_many` batches of `--batch` (how the loop flushes streamed tokens); events per
second = events / (last arrival - first publish).

Baseline, in the same run: a bare Redis publish/subscribe round trip with redis-py
(asyncio): the same rates and burst, a timestamp in each message, no database, no Daphne.

The last line printed is one JSON object {"ours", "baseline", "ratio", "goal"}; ratio is
ours' p99 over the baseline's (latency) and ours' events/s over the baseline's (throughput),
and for ``relay`` also its p99 and idle queries over ``relay-poll``'s; goal is the relay's p99
at `--sessions` sessions against the 100 ms the stream must meet on every layer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
GOAL_P99_MS = 100.0
LAYERS = {
    "memory": "channels.layers.InMemoryChannelLayer",
    "relay": "channels.layers.InMemoryChannelLayer",
    "relay-poll": "channels.layers.InMemoryChannelLayer",
    "redis": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


# --- publishing (inside Daphne, or in a publisher process) ----------------------------------


def publish_workload(
    sessions: list[int], rate: float, duration: float, burst: int, batch: int
) -> dict[str, Any]:
    """Publish `rate` events/s to each session for `duration` s, or `burst` events to the
    first session in batches; each event's message is the monotonic time before publishing.
    Returns how many were sent and in how many seconds."""
    from django.db import connections

    from chat.services import publish, publish_many
    from chat.services.broadcast import flush

    sent = 0
    began = time.monotonic()
    try:
        if burst:
            while sent < burst:
                n = min(batch, burst - sent)
                stamp = f"{time.monotonic():.6f}"
                publish_many(sessions[0], [("message.delta", {"step": 1, "text": stamp})] * n)
                sent += n
        else:
            ticks = int(duration * rate)
            start = time.monotonic()
            for tick in range(ticks):
                due = start + tick / rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                for session in sessions:
                    publish(
                        session, "message.delta", {"step": 1, "text": f"{time.monotonic():.6f}"}
                    )
                    sent += 1
        flush(30)
    finally:
        connections.close_all()
    return {"sent": sent, "seconds": round(time.monotonic() - began, 2)}


class _Queries:
    count = 0
    lock = threading.Lock()


def _count_query(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    with _Queries.lock:
        _Queries.count += 1
    return execute(sql, params, many, context)


def _count_queries_on(sender: Any, connection: Any, **kwargs: Any) -> None:
    connection.execute_wrappers.append(_count_query)


async def _respond(send: Any, payload: dict[str, Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


def _bench_application() -> Any:
    """config.asgi's application plus POST /bench/publish, for publishing inside Daphne, and
    GET /bench/queries, how many queries this process has run."""
    from asgiref.sync import sync_to_async
    from django.db.backends.signals import connection_created

    from config.asgi import application as site

    connection_created.connect(_count_queries_on)

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/bench/queries":
            await _respond(send, {"queries": _Queries.count})
            return
        if scope["type"] != "http" or scope["path"] != "/bench/publish":
            await site(scope, receive, send)
            return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        done = await sync_to_async(publish_workload, thread_sensitive=False)(
            [int(s) for s in query["sessions"].split(",")],
            float(query["rate"]),
            float(query["duration"]),
            int(query["burst"]),
            int(query["batch"]),
        )
        await _respond(send, done)

    return application


if os.environ.get("JG_BENCH_SERVER"):
    application = _bench_application()


# --- the driver -----------------------------------------------------------------------------


def environment(database_url: str, layer: str, prefix: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "CHANNELS_REDIS_PREFIX": prefix,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "JG_BENCH_LAYER": LAYERS[layer],
    }
    env.pop("REDIS_URL", None)
    env["CHAT_RELAY_WAKE"] = "false" if layer == "relay-poll" else "true"
    if layer in {"redis", "pubsub"}:
        env["REDIS_URL"] = REDIS_URL
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    apply_layer()


def apply_layer() -> None:
    """settings.py picks RedisChannelLayer for REDIS_URL; the bench may want the pubsub one."""
    from django.conf import settings

    backend = os.environ.get("JG_BENCH_LAYER")
    if backend and "redis" in backend:
        # redis-py 8 times socket reads out after 5 s by default, which breaks the plain
        # layer's blocking receive (channels_redis #422); give it no read timeout.
        host: dict[str, Any] = {"address": REDIS_URL, "socket_timeout": None}
        if backend.endswith("core.RedisChannelLayer"):
            # redis-py 8 caps an asyncio pool at 100 connections, and the plain layer takes
            # one per waiting receive and group change: at 100 sessions the handshakes ran
            # out ("Too many connections", HTTP 500). What it needs is the comparison here.
            host["max_connections"] = 1000
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": backend,
                "CONFIG": {"hosts": [host], "prefix": os.environ["CHANNELS_REDIS_PREFIX"]},
            }
        }


def prepare(sessions: int) -> tuple[list[int], str]:
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from chat.services import create_session
    from engine.services import create_api_token

    call_command("migrate", verbosity=0, interactive=False)
    user, _ = User.objects.get_or_create(username="bench")
    ids = [create_session(owner=user, mode="ops").pk for _ in range(sessions + 1)]
    _, token = create_api_token(user=user)
    return ids, token


def start_daphne(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server_env = {**env, "JG_BENCH_SERVER": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)], cwd=REPO / "bench", env=server_env
    )
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("daphne did not start")


# Daphne imports this module as `stream`; the layer is applied before the app is built.
SERVE = """
import os, sys
sys.path.insert(0, os.environ["PYTHONPATH"])
import django
django.setup()
import stream
stream.apply_layer()
from daphne.cli import CommandLineInterface
CommandLineInterface().run(["-v", "0", "-b", "127.0.0.1", "-p", sys.argv[1], "stream:application"])
"""


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


GRACE_SECONDS = 10.0  # how long the clients wait for stragglers once the publisher is done


class Deadline:
    """When the clients stop listening: open while the publisher runs (a starved publisher
    falls behind its schedule, and its events are still to come), then GRACE_SECONDS."""

    def __init__(self) -> None:
        self.at = time.monotonic() + 3600

    def close_in(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds


class Watcher:
    """One websocket client on one session, recording latencies and checking order."""

    def __init__(self, port: int, session: int, token: str, after: int) -> None:
        self.url = f"ws://127.0.0.1:{port}/ws/chat/{session}/?after={after}"
        self.headers = {"Authorization": f"Token {token}", "Origin": f"http://127.0.0.1:{port}"}
        self.expected_seq = after + 1
        self.latencies: list[float] = []
        self.out_of_order = 0
        self.last_arrival = 0.0
        self.ready = asyncio.Event()

    async def run(self, expected: int, deadline: Deadline) -> None:
        import websockets

        async with websockets.connect(
            self.url, additional_headers=self.headers, max_queue=None
        ) as ws:
            self.ready.set()
            while len(self.latencies) < expected and time.monotonic() < deadline.at:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
                except TimeoutError:
                    continue
                now = time.monotonic()
                event = json.loads(raw)
                if event["type"] != "message.delta":
                    continue
                if event["seq"] != self.expected_seq:
                    self.out_of_order += 1
                self.expected_seq = event["seq"] + 1
                self.latencies.append((now - float(event["data"]["text"])) * 1000)
                self.last_arrival = now


async def measure(
    *,
    port: int,
    layer: str,
    env: dict[str, str],
    sessions: list[int],
    token: str,
    rate: float,
    duration: float,
    burst: int,
    batch: int,
) -> dict[str, Any]:
    from asgiref.sync import sync_to_async

    from chat.models import ChatSession

    after = await sync_to_async(
        lambda: dict(ChatSession.objects.filter(pk__in=sessions).values_list("pk", "last_seq"))
    )()
    expected = burst if burst else int(duration * rate)
    watchers = [Watcher(port, s, token, after[s]) for s in sessions]
    deadline = Deadline()
    tasks = [asyncio.ensure_future(w.run(expected, deadline)) for w in watchers]
    await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watchers)), 30)
    await asyncio.sleep(0.5)
    started = time.monotonic()
    names = ",".join(map(str, sessions))
    query = f"sessions={names}&rate={rate}&duration={duration}&burst={burst}&batch={batch}"
    if layer == "memory":
        url = f"http://127.0.0.1:{port}/bench/publish?{query}"
        request = urllib.request.Request(url, method="POST")

        def post() -> bytes:
            with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
                return bytes(response.read())

        output = await asyncio.to_thread(post)
    else:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--publisher",
            query,
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        output, _ = await process.communicate()
    published = json.loads(output.decode().strip().splitlines()[-1])
    deadline.close_in(GRACE_SECONDS)
    await asyncio.gather(*tasks)
    latencies = [x for w in watchers for x in w.latencies]
    delivered = len(latencies)
    result = {
        "sessions": len(sessions),
        "published": expected * (1 if burst else len(sessions)),
        "delivered": delivered,
        "in_order": all(w.out_of_order == 0 for w in watchers),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies, default=float("nan")), 2),
    }
    if burst:
        last = max(w.last_arrival for w in watchers)
        result["events_per_s"] = round(delivered / (last - started), 0) if last > started else 0
    else:
        result["publish_s"] = published["seconds"]
    return result


async def redis_baseline(
    *, sessions: int, rate: float, duration: float, burst: int
) -> dict[str, Any]:
    """Bare redis-py pub/sub: `sessions` channels at `rate` msgs/s each, then a burst."""
    import redis.asyncio as aioredis

    async def run(channels: int, count: int, paced: bool) -> dict[str, Any]:
        sub_client, pub_client = aioredis.from_url(REDIS_URL), aioredis.from_url(REDIS_URL)
        pubsub = sub_client.pubsub()
        names = [f"jgchat-baseline-{uuid.uuid4().hex[:6]}-{n}" for n in range(channels)]
        await pubsub.subscribe(*names)
        for _ in names:
            await pubsub.get_message(timeout=1)
        latencies: list[float] = []
        total = count * (channels if paced else 1)

        async def receive() -> float:
            last = 0.0
            while len(latencies) < total:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                if message is None:
                    break
                last = time.monotonic()
                latencies.append((last - float(message["data"])) * 1000)
            return last

        receiver = asyncio.ensure_future(receive())
        started = time.monotonic()
        if paced:
            for tick in range(count):
                pause = started + tick / rate - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                for name in names:
                    await pub_client.publish(name, f"{time.monotonic():.6f}")
        else:
            for _ in range(count):
                await pub_client.publish(names[0], f"{time.monotonic():.6f}")
        last = await receiver
        await pubsub.aclose()
        await sub_client.aclose()
        await pub_client.aclose()
        result = {
            "sessions": channels if paced else 1,
            "published": total,
            "delivered": len(latencies),
            "p50_ms": round(percentile(latencies, 0.5), 3),
            "p95_ms": round(percentile(latencies, 0.95), 3),
            "p99_ms": round(percentile(latencies, 0.99), 3),
            "max_ms": round(max(latencies, default=float("nan")), 3),
        }
        if not paced:
            result["events_per_s"] = round(len(latencies) / (last - started), 0)
        return result

    ticks = int(duration * rate)
    return {
        "1": await run(1, ticks, True),
        str(sessions): await run(sessions, ticks, True),
        "burst": await run(1, burst, False),
    }


async def idle_queries(*, port: int, session: int, token: str, seconds: float) -> dict[str, Any]:
    """Queries per second in Daphne with one stream open and nothing published."""
    import websockets

    def queries() -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/queries", timeout=10) as r:
            return int(json.load(r)["queries"])

    watcher = Watcher(port, session, token, 0)
    headers = watcher.headers
    async with websockets.connect(watcher.url.split("?")[0], additional_headers=headers):
        await asyncio.sleep(1)  # connected, its relay started; its first heartbeat is 25 s off
        before = await asyncio.to_thread(queries)
        await asyncio.sleep(seconds)
        after = await asyncio.to_thread(queries)
    return {"streams": 1, "seconds": seconds, "queries_per_s": round((after - before) / seconds, 1)}


def run_layer(layer: str, args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    prefix = f"jgchat-bench-{uuid.uuid4().hex[:6]}"
    env = environment(database_url, layer, prefix)
    port = free_port()
    server = start_daphne(env, port)
    try:
        from chat.models import ChatSession

        ids = list(ChatSession.objects.order_by("pk").values_list("pk", flat=True))

        common = {"port": port, "layer": layer, "env": env, "token": args.token}
        one = asyncio.run(
            measure(
                **common, sessions=ids[:1], rate=args.rate, duration=args.duration, burst=0, batch=1
            )
        )
        many = asyncio.run(
            measure(
                **common,
                sessions=ids[1 : args.sessions + 1],
                rate=args.rate,
                duration=args.duration,
                burst=0,
                batch=1,
            )
        )
        burst = asyncio.run(
            measure(
                **common, sessions=ids[:1], rate=0, duration=0, burst=args.burst, batch=args.batch
            )
        )
        result = {"1": one, str(args.sessions): many, "burst": burst}
        if layer.startswith("relay"):
            result["idle"] = asyncio.run(
                idle_queries(port=port, session=ids[0], token=args.token, seconds=args.idle)
            )
    finally:
        server.terminate()
        server.wait(10)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--idle", type=float, default=5.0)
    parser.add_argument("--layers", default="memory,relay,relay-poll,pubsub,redis")
    parser.add_argument("--publisher", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.publisher:
        sys.path.insert(0, str(REPO))
        import django

        django.setup()
        apply_layer()
        query = {k: v[0] for k, v in parse_qs(args.publisher).items()}
        done = publish_workload(
            [int(s) for s in query["sessions"].split(",")],
            float(query["rate"]),
            float(query["duration"]),
            int(query["burst"]),
            int(query["batch"]),
        )
        print(json.dumps(done))
        return

    # A fresh file per run: two runs at once (two engineers, or `make bench`) never share one.
    scratch = tempfile.TemporaryDirectory(prefix="jg_chat_bench_")
    database = os.environ.get("DATABASE_URL") or f"sqlite:///{scratch.name}/bench.sqlite3"
    setup_django(environment(database, "memory", "jgchat-bench"))
    from chat.services.wakeup import wake_directory

    _, args.token = prepare(args.sessions)
    ours: dict[str, Any] = {}
    for layer in args.layers.split(","):
        print(f"{layer}: measuring…", file=sys.stderr)
        ours[layer] = run_layer(layer, args, database)
        print(f"{layer}: {json.dumps(ours[layer])}", file=sys.stderr)
    baseline = asyncio.run(
        redis_baseline(
            sessions=args.sessions, rate=args.rate, duration=args.duration, burst=args.burst
        )
    )
    print(f"baseline: {json.dumps(baseline)}", file=sys.stderr)
    many = str(args.sessions)
    ratio = {
        layer: {
            "p99_1": round(result["1"]["p99_ms"] / baseline["1"]["p99_ms"], 1),
            f"p99_{many}": round(result[many]["p99_ms"] / baseline[many]["p99_ms"], 1),
            "events_per_s": round(
                result["burst"]["events_per_s"] / baseline["burst"]["events_per_s"], 3
            ),
        }
        for layer, result in ours.items()
    }
    if "relay" in ours and "relay-poll" in ours:
        relay, polling = ours["relay"], ours["relay-poll"]
        ratio["relay"][f"p99_{many}_vs_relay_poll"] = round(
            relay[many]["p99_ms"] / polling[many]["p99_ms"], 2
        )
        ratio["relay"]["idle_queries_vs_relay_poll"] = round(
            relay["idle"]["queries_per_s"] / max(polling["idle"]["queries_per_s"], 0.1), 3
        )
    goal = {}
    if "relay" in ours:
        p99 = ours["relay"][many]["p99_ms"]
        goal = {f"relay_p99_{many}_ms": p99, "limit_ms": GOAL_P99_MS, "met": p99 < GOAL_P99_MS}
    summary_table(ours, baseline, args.sessions)
    print(json.dumps({"ours": ours, "baseline": baseline, "ratio": ratio, "goal": goal}))
    with contextlib.suppress(OSError):
        wake_directory().rmdir()  # this run's database goes; its relays' directory too


def summary_table(ours: dict[str, Any], baseline: dict[str, Any], sessions: int) -> None:
    rows = [*ours.items(), ("redis pub/sub (baseline)", baseline)]
    many_title = f"p50/p95/p99 {sessions} sess (ms)"
    print(
        f"{'layer':26} {'p50/p99 1 sess (ms)':>20} {many_title:>28} {'delivered':>12}"
        f" {'burst ev/s':>11} {'idle q/s':>9}"
    )
    for name, result in rows:
        one, many, burst = result["1"], result[str(sessions)], result["burst"]
        delivered = f"{many['delivered']}/{many['published']}"
        latencies = f"{many['p50_ms']:.1f}/{many['p95_ms']:.1f}/{many['p99_ms']:.1f}"
        idle = f"{result['idle']['queries_per_s']:.1f}" if "idle" in result else "-"
        print(
            f"{name:26} {one['p50_ms']:>9.1f}/{one['p99_ms']:<9.1f} {latencies:>28}"
            f" {delivered:>12} {burst.get('events_per_s', 0):>11,.0f} {idle:>9}"
        )


if __name__ == "__main__":
    main()
