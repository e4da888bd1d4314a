"""Run every benchmark in bench/, each on the database it is meant for, and write one summary.

    .venv/bin/python bench/run.py [--quick] [--only NAME,...] [--out var/bench/summary.json]

Each bench runs as its own process with its output copied to the terminal and to
``var/bench/<name>.log``. A PostgreSQL bench gets a database of its own,
``<BENCH_DATABASE_URL>_<name>`` (default base ``postgres://postgres@127.0.0.1:5432/
juggernaut_bench_run``), dropped before and after it runs; the others run without
DATABASE_URL (their own scratch SQLite). A bench whose PostgreSQL or Redis (REDIS_URL, default
``redis://127.0.0.1:6379/0``) cannot be reached is skipped with the reason.

The summary holds, per bench, its command, status (ok, failed, timeout, skipped), exit
status, seconds, the last line of its output parsed as JSON (``result``) and, for a skip,
the reason; and the host's state (cores, load averages before and after) that the figures
must be read with. ``--quick`` runs smaller sizes, to check that every bench works; its
figures are not the ones to quote.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/juggernaut_bench_run"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...] = ()  # what `make bench` runs: sized to keep the whole under 15 min
    quick: tuple[str, ...] = ()
    postgres: bool = False
    redis: bool = False
    database_flag: str | None = None  # a bench that takes its database as a flag, not env
    timeout: int = 900  # for a hung bench: a loaded host runs them at a third of their speed


BENCHES = (
    Bench("fingerprint", ("--rounds", "5"), ("--rounds", "1")),
    Bench(
        "engine_claim",
        ("--tasks", "2000", "--processes", "1,2,4", "--rounds", "2"),
        ("--tasks", "300", "--processes", "1,2", "--rounds", "1"),
        postgres=True,
    ),
    Bench(
        "engine_page_queries",
        ("--tasks", "1000000", "--runs", "15"),
        ("--tasks", "100000", "--runs", "3"),
        postgres=True,
    ),
    Bench("diagnose", ("--runs", "7"), ("--runs", "2"), postgres=True),
    Bench(
        "ingest",
        ("--lines", "200000", "--naive-lines", "3000", "--rounds", "3"),
        ("--lines", "20000", "--naive-lines", "1000", "--rounds", "1"),
        postgres=True,
    ),
    Bench(
        "gateway",
        ("--requests", "1000", "--concurrency", "64", "--seconds", "10"),
        ("--requests", "100", "--concurrency", "64", "--seconds", "2"),
        postgres=True,
        database_flag="--database-url",
    ),
    Bench(
        "stream",
        ("--duration", "5", "--sessions", "100", "--rate", "10", "--burst", "5000", "--idle", "3"),
        ("--duration", "2", "--sessions", "20", "--burst", "1000", "--idle", "1"),
        redis=True,  # the pubsub and redis layers, and the bare redis-py baseline
    ),
    Bench("codehealth_scan", ("--runs", "3"), ("--runs", "1")),
    Bench(
        "incident_loop",
        ("--lines", "30", "--incidents", "1000", "--runs", "7"),
        ("--lines", "5", "--incidents", "200", "--runs", "2"),
        postgres=True,
    ),
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: does every bench run?")
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench" / "summary.json")
    args = parser.parse_args()

    names = [name for name in args.only.split(",") if name]
    unknown = set(names) - {bench.name for bench in BENCHES}
    if unknown:
        parser.error(f"unknown bench: {', '.join(sorted(unknown))}")
    chosen = [bench for bench in BENCHES if not names or bench.name in names]
    database_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    unreachable = {
        "postgres": postgres_problem(database_url),
        "redis": redis_problem(redis_url),
    }
    logs = args.out.parent
    logs.mkdir(parents=True, exist_ok=True)

    summary: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "host": host_state(),
        "commit": git_commit(),
        "benches": {},
    }
    for bench in chosen:
        needs = [kind for kind in ("postgres", "redis") if getattr(bench, kind)]
        problems = [unreachable[kind] for kind in needs if unreachable[kind]]
        if problems:
            record: dict[str, Any] = {"status": "skipped", "reason": "; ".join(problems)}
            print(f"== {bench.name}: skipped ({record['reason']})", flush=True)
        else:
            record = run_bench(bench, args.quick, database_url, redis_url, logs)
        summary["benches"][bench.name] = record
        args.out.write_text(json.dumps(summary, indent=2) + "\n")  # partial results survive
    summary["host"]["loadavg_after"] = load_average()
    summary["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.write_text(json.dumps(summary, indent=2) + "\n")

    print(f"\n== summary ({args.out})")
    for name, record in summary["benches"].items():
        seconds = f"{record['seconds']:.0f} s" if "seconds" in record else ""
        print(f"{name:<20} {record['status']:<8} {seconds:>6}  {record.get('reason', '')}")
    failed = [name for name, rec in summary["benches"].items() if rec["status"] in BAD]
    return 1 if failed else 0


BAD = {"failed", "timeout"}


def run_bench(
    bench: Bench, quick: bool, database_url: str, redis_url: str, logs: Path
) -> dict[str, Any]:
    command = [sys.executable, f"bench/{bench.name}.py", *(bench.quick if quick else bench.args)]
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    database = None
    if bench.postgres:
        database = with_database_name(database_url, f"{database_name(database_url)}_{bench.name}")
        drop_database(database)
        if bench.database_flag:
            command += [bench.database_flag, database]
        else:
            env["DATABASE_URL"] = database
    print(f"== {bench.name}: {' '.join(command[1:])}", flush=True)
    log = logs / f"{bench.name}.log"
    started = time.perf_counter()
    last_line, status = "", "ok"
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a timeout ends its servers and workers too
        )
        assert process.stdout is not None
        timer = threading.Timer(bench.timeout, os.killpg, (process.pid, signal.SIGKILL))
        timer.start()  # a bench that hangs without a word is ended too
        for line in process.stdout:
            sys.stdout.write(line)
            out.write(line)
            if line.strip():
                last_line = line.strip()
        code = process.wait()
        timer.cancel()
        if time.perf_counter() - started >= bench.timeout:
            status = "timeout"
    seconds = round(time.perf_counter() - started, 1)
    if database is not None:
        drop_database(database)
    record: dict[str, Any] = {
        "command": " ".join(["bench/" + bench.name + ".py", *command[2:]]),
        "exit_status": code,
        "seconds": seconds,
        "log": str(log.relative_to(REPO)) if log.is_relative_to(REPO) else str(log),
        "result": None,
    }
    with contextlib.suppress(ValueError):
        record["result"] = json.loads(last_line)
    if status == "ok" and (code != 0 or not isinstance(record["result"], dict)):
        status = "failed"
        record["reason"] = last_line[-500:]
    elif status == "timeout":
        record["reason"] = f"still running after {bench.timeout} s"
    if database is not None:
        record["database"] = "postgresql"
    return {"status": status, **record}


def postgres_problem(url: str) -> str | None:
    import psycopg

    try:
        with admin_connection(url):
            return None
    except psycopg.Error as error:
        detail = " ".join(str(error).split())[:200]
        return f"PostgreSQL not reachable at {redacted(url)}: {detail}"


def redis_problem(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 3) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(64):
                return f"Redis at {redacted(url)} closed the connection"
    except OSError as error:
        return f"Redis not reachable at {redacted(url)}: {error}"
    return None


def admin_connection(url: str) -> Any:
    import psycopg

    return psycopg.connect(with_database_name(url, "postgres"), autocommit=True, connect_timeout=5)


def drop_database(url: str) -> None:
    from psycopg import sql

    with admin_connection(url) as admin:
        name = sql.Identifier(database_name(url))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def host_state() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "loadavg_before": load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def load_average() -> list[float]:
    return [round(load, 2) for load in os.getloadavg()]


def git_commit() -> str | None:
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return described.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
