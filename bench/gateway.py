"""How much latency the OpenAI-compatible gateway adds over calling the upstream directly.

Starts a fake OpenRouter (tests/routing/fake_openrouter.py, its own process) and the project
under Daphne (another process, a fresh SQLite database unless --database-url is given), then
sends the same chat completion N times both ways, interleaved so drift hits both alike:

  baseline  POST {upstream}/chat/completions              (what an agent would do without us)
  ours      POST {daphne}/v1/chat/completions mode:ops    (token auth, policy, selection, budget
                                                           reservation, upstream call, ledger row)

Plain calls are timed to the last byte; streamed calls to the first content token (TTFT).
Goal: under 2 ms added at p50 and under 10 ms at p99.

Then the load run: `--concurrency` clients (64) send calls through the gateway for
`--seconds` each, plain first, then streamed, and every failure is counted: a status other
than 200, a stream without its `[DONE]` or with an error event, a refused or cut connection.
Goal: 0 errors (issue 15 saw 115 of ~4,500 answered 500 when PostgreSQL ran out of
connections). The gateway's rate limits are off for the bench.

    .venv/bin/python bench/gateway.py [--requests 1000] [--database-url postgres://...]
                                      [--concurrency 64] [--seconds 10]

The last line printed is JSON: {"ours": {...}, "baseline": {...}, "ratio": {...},
"concurrent": {"plain": {...}, "streamed": {...}}, ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MESSAGES = [{"role": "user", "content": "Say something short about gateways."}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up within {seconds}s")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def timed_plain(
    session: requests.Session, url: str, body: dict[str, object], headers: dict[str, str]
) -> float:
    started = time.perf_counter()
    response = session.post(url, json=body, headers=headers, timeout=10)
    response.content  # noqa: B018 - read to the last byte
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
    return elapsed * 1000


def timed_first_token(
    session: requests.Session, url: str, body: dict[str, object], headers: dict[str, str]
) -> float:
    started = time.perf_counter()
    with session.post(
        url, json={**body, "stream": True}, headers=headers, timeout=10, stream=True
    ) as response:
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")
        first = None
        for line in response.iter_lines(chunk_size=None):
            if (
                first is None
                and line.startswith(b"data: {")
                and b'"content":"' in line.replace(b'": "', b'":"')
            ):
                chunk = json.loads(line[6:])
                if chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
                    first = time.perf_counter() - started
        if first is None:
            raise SystemExit(f"{url} streamed no content")
    return first * 1000


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
    }


def setup_project(env: dict[str, str]) -> str:
    """Migrate, raise the ops ceilings out of the way, and mint an API token."""
    if env["DATABASE_URL"].startswith("postgres"):
        sys.path.insert(0, str(ROOT))
        from bench._common import create_database

        create_database(env["DATABASE_URL"])
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    script = (
        "from decimal import Decimal\n"
        "from django.contrib.auth import get_user_model\n"
        "from engine.services import create_api_token\n"
        "from routing.models import Policy\n"
        "big = Decimal('1000000')\n"
        "Policy.objects.filter(mode='ops').update(daily_ceiling=big, session_ceiling=big)\n"
        "user, _ = get_user_model().objects.get_or_create(username='bench')\n"
        "print(create_api_token(user=user, name='bench')[1])\n"
    )
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def one_call(session: requests.Session, url: str, headers: dict[str, str], stream: bool) -> str:
    """One call through the gateway, read to its end: '' when it was a whole answer, else
    what was wrong (the status and error code, or how the stream ended)."""
    body = {"model": "mode:ops", "messages": MESSAGES, "stream": stream}
    with session.post(url, json=body, headers=headers, timeout=30, stream=stream) as response:
        if response.status_code != 200:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            return f"{response.status_code} {code}"
        if not stream:
            return "" if "choices" in response.json() else "200 without choices"
        lines = [line for line in response.iter_lines(chunk_size=None) if line]
    for line in lines:
        if line.startswith(b'data: {"error"'):
            return "stream error " + str(json.loads(line[6:])["error"].get("code"))
    return "" if lines and lines[-1] == b"data: [DONE]" else "stream cut short"


def load(url: str, token: str, *, clients: int, seconds: float, stream: bool) -> dict[str, Any]:
    """`clients` threads calling as fast as they are answered for `seconds`."""
    headers = {"Authorization": f"Bearer {token}"}
    ok: list[float] = []
    failed: list[str] = []
    lock = threading.Lock()
    go = threading.Event()
    deadline = [0.0]

    def client() -> None:
        with requests.Session() as session:
            go.wait()
            while time.monotonic() < deadline[0]:
                started = time.perf_counter()
                try:
                    why = one_call(session, url, headers, stream)
                except requests.RequestException as exc:
                    why = type(exc).__name__
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    (failed.append(why) if why else ok.append(elapsed))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    go.set()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    result: dict[str, Any] = {
        "clients": clients,
        "seconds": seconds,
        "requests": len(ok) + len(failed),
        "errors": len(failed),
        "answered_per_second": round(len(ok) / seconds, 1),
    }
    if ok:
        result.update(
            {"p50_ms": round(statistics.median(ok), 1), "p99_ms": round(percentile(ok, 0.99), 1)}
        )
    if failed:
        result["error_kinds"] = {kind: failed.count(kind) for kind in sorted(set(failed))}
    return result


def run(
    requests_count: int, database_url: str | None, *, clients: int, seconds: float
) -> dict[str, Any]:
    processes: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory(prefix="jg-bench-gateway-") as tmp:
        try:
            upstream = subprocess.Popen(
                [PYTHON, "-m", "tests.routing.fake_openrouter", "--port", str(free_port())],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            processes.append(upstream)
            assert upstream.stdout is not None
            upstream_url = upstream.stdout.readline().strip()
            env = {
                **os.environ,
                "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnop",
                "DEBUG": "false",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "JUGGERNAUT_VAR_DIR": tmp,
                "DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.sqlite3",
                "OPENROUTER_API_KEY": "sk-or-bench-not-a-real-key",
                "OPENROUTER_BASE_URL": upstream_url,
                "ROUTING_MAX_RETRIES": "0",
                "GATEWAY_TOKEN_THROTTLE_RATE": "",  # the bench is the flood a limit stops
                "GATEWAY_POLICY_THROTTLE_RATE": "",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": os.pathsep.join([tmp, str(ROOT), os.environ.get("PYTHONPATH", "")]),
            }
            app = "config.asgi:application"  # with its gateway fast path
            token = setup_project(env)
            port = free_port()
            daphne = subprocess.Popen(
                [
                    str(Path(PYTHON).with_name("daphne")),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-v",
                    "0",
                    app,
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            processes.append(daphne)
            ours_url = f"http://127.0.0.1:{port}/v1/chat/completions"
            wait_until_up(f"http://127.0.0.1:{port}/v1/models")
            results: dict[str, Any] = measure(requests_count, upstream_url, ours_url, token)
            if clients > 0:
                results["concurrent"] = {
                    kind: load(ours_url, token, clients=clients, seconds=seconds, stream=stream)
                    for kind, stream in (("plain", False), ("streamed", True))
                }
            return results
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


def measure(count: int, upstream_url: str, ours_url: str, token: str) -> dict[str, Any]:
    baseline_url = f"{upstream_url}/chat/completions"
    direct = {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "max_tokens": 1024}
    routed = {"model": "mode:ops", "messages": MESSAGES}
    upstream_headers = {"Authorization": "Bearer sk-or-bench-not-a-real-key"}
    our_headers = {"Authorization": f"Bearer {token}"}
    samples: dict[str, list[float]] = {
        key: [] for key in ("ours_plain", "base_plain", "ours_ttft", "base_ttft")
    }
    with requests.Session() as ours, requests.Session() as base:
        plans: list[tuple[str, Callable[[], float]]] = [
            ("base_plain", lambda: timed_plain(base, baseline_url, direct, upstream_headers)),
            ("ours_plain", lambda: timed_plain(ours, ours_url, routed, our_headers)),
            ("base_ttft", lambda: timed_first_token(base, baseline_url, direct, upstream_headers)),
            ("ours_ttft", lambda: timed_first_token(ours, ours_url, routed, our_headers)),
        ]
        for _ in range(min(50, count)):  # warm-up: connections, caches, code paths
            for _, plan in plans:
                plan()
        for _ in range(count):
            for key, plan in plans:
                samples[key].append(plan())
    return {key: summary(values) for key, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--concurrency", type=int, default=64, help="clients of the load run")
    parser.add_argument("--seconds", type=float, default=10, help="per load run; 0 skips it")
    args = parser.parse_args()
    clients = args.concurrency if args.seconds > 0 else 0
    results = run(args.requests, args.database_url, clients=clients, seconds=args.seconds)
    ours = {
        "plain_p50_ms": results["ours_plain"]["p50_ms"],
        "plain_p99_ms": results["ours_plain"]["p99_ms"],
        "ttft_p50_ms": results["ours_ttft"]["p50_ms"],
        "ttft_p99_ms": results["ours_ttft"]["p99_ms"],
    }
    baseline = {
        "plain_p50_ms": results["base_plain"]["p50_ms"],
        "plain_p99_ms": results["base_plain"]["p99_ms"],
        "ttft_p50_ms": results["base_ttft"]["p50_ms"],
        "ttft_p99_ms": results["base_ttft"]["p99_ms"],
    }
    ratio = {key: round(ours[key] / baseline[key], 2) for key in ours}
    added = {key: round(ours[key] - baseline[key], 3) for key in ours}
    served = "config.asgi"
    database = "postgresql" if args.database_url else "sqlite"
    print(f"gateway bench: {args.requests} requests per case, {database}, Daphne serving {served}")
    head = ("case", "baseline p50", "ours p50", "added", "baseline p99", "ours p99", "added")
    print(f"{head[0]:<8}" + "".join(f"{h:>14}" for h in head[1:]))
    for case in ("plain", "ttft"):
        p50, p99 = f"{case}_p50_ms", f"{case}_p99_ms"
        print(
            f"{case:<8}{baseline[p50]:>14.3f}{ours[p50]:>14.3f}{added[p50]:>14.3f}"
            f"{baseline[p99]:>14.3f}{ours[p99]:>14.3f}{added[p99]:>14.3f}"
        )
    goal = added["plain_p50_ms"] < 2 and added["plain_p99_ms"] < 10
    print(f"goal (< 2 ms added at p50, < 10 ms at p99, plain): {'met' if goal else 'NOT met'}")
    concurrent = results.get("concurrent", {})
    for kind, row in concurrent.items():
        print(
            f"{row['clients']} concurrent {kind}: {row['requests']} calls in {row['seconds']:g} s, "
            f"{row['errors']} errors, {row['answered_per_second']} answered/s, "
            f"p50 {row.get('p50_ms', '-')} ms, p99 {row.get('p99_ms', '-')} ms"
            + (f", errors: {row['error_kinds']}" if row.get("error_kinds") else "")
        )
    if concurrent:
        errors = sum(row["errors"] for row in concurrent.values())
        print(
            f"goal (0 errors at {clients} concurrent calls): {'met' if errors == 0 else 'NOT met'}"
        )
    print(
        json.dumps(
            {
                "ours": ours,
                "baseline": baseline,
                "ratio": ratio,
                "added_ms": added,
                "served": served,
                "database": database,
                "requests": args.requests,
                "concurrent": concurrent,
            }
        )
    )


if __name__ == "__main__":
    main()
