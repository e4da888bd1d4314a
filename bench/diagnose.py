"""Benchmark: a full self-heal diagnosis on PostgreSQL with a million tasks.

    .venv/bin/python bench/diagnose.py [--runs 7] [--keep]

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/juggernaut_diag_bench) is created if
missing, migrated, and filled with INSERT ... SELECT generate_series: 1,000,000 tasks over
30 days (926k done, 50k pending, 10k failed with varied errors, 10k cancelled, 2k blocked,
1k running of which 50 past their lease, 1k waiting for approval) and 100 workers (80 online,
10 late, 10 offline); then VACUUM ANALYZE, as autovacuum would have done on a live database.
``--keep`` reuses the rows of an earlier run.

It runs the diagnosis (the real playbook, writing its execution and findings) several times
and prints each check's time, then the same six checks written the obvious way (rows loaded
into Python, a query per worker or per blocked task), measured in the same run, once.
The last line is one JSON object: {"ours": ..., "baseline": ..., "ratio": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/juggernaut_diag_bench")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

TASKS = 1_000_000
WORKERS = 100
GOAL_MS = 1000.0

SEED_SQL = """
SELECT setseed(0.42);
TRUNCATE engine_task, engine_taskevent, engine_worker, selfheal_finding, selfheal_repairaction,
  selfheal_snapshot, selfheal_playbookexecution RESTART IDENTITY CASCADE;
INSERT INTO engine_worker (name, capabilities, max_concurrency, state, last_heartbeat_at, builtin,
  shared, created_at)
SELECT 'bench-worker-' || w,
  CASE WHEN w % 10 = 9 THEN '["gpu"]'::jsonb
       ELSE '["agent","echo","sleep","build","deploy","scan","crawl"]'::jsonb END,
  4,
  CASE WHEN w > 90 THEN 'offline' ELSE 'online' END,
  CASE WHEN w BETWEEN 81 AND 90 THEN now() - interval '70 seconds'
       WHEN w > 90 THEN now() - interval '2 hours' ELSE now() - interval '5 seconds' END,
  false, false, now() - interval '40 days'
FROM generate_series(1, @WORKERS@) w;
INSERT INTO engine_task (title, kind, payload, priority, state, attempts, max_attempts,
  timeout_seconds, run_after, lease_worker_id, lease_expires_at, started_at, last_error,
  approval_reason, approval_requested_at, approval_decision, source, source_ref, created_at,
  updated_at, finished_at, blocked_by_id, dangerous)
SELECT 'bench task ' || i,
  (ARRAY['agent','echo','sleep','build','deploy','scan','crawl','report'])[1 + i % 8],
  '{}'::jsonb, (i * 7) % 100, st,
  CASE WHEN st = 'failed' THEN 3 WHEN st IN ('done', 'running') THEN 1 ELSE 0 END, 3, 300,
  c,
  CASE WHEN st = 'running' THEN 1 + i % 80 END,
  CASE WHEN st = 'running' THEN (CASE WHEN i % 20 = 0 THEN now() - interval '5 minutes'
                                      ELSE now() + interval '45 seconds' END) END,
  CASE WHEN st IN ('running', 'done', 'failed') THEN c + interval '1 second' END,
  CASE WHEN st = 'failed' THEN
    CASE (i / 1000) % 12
      WHEN 0 THEN format('Timeout after %ss connecting to 10.0.%s.%s:5432',
                         5 + i % 60, i % 255, (i / 7) % 255)
      WHEN 1 THEN format('KeyError: ''user_%s''', i)
      WHEN 2 THEN format('HTTP 502 from https://api.example.com/v1/items/%s (request id %s)',
                         i % 9999, md5(i::text))
      WHEN 3 THEN format('ConnectionResetError: [Errno 104] Connection reset by peer '
                         || '(worker %s)', i % 97)
      WHEN 4 THEN format('ValueError: invalid literal for int() with base 10: ''%s''',
                         substr(md5(i::text), 1, 6))
      WHEN 5 THEN format('rate limited: retry after %s ms', 100 + i % 5000)
      WHEN 6 THEN format('disk full writing /var/tmp/job-%s/out.bin', i)
      WHEN 7 THEN format('OOMKilled: container used %s MiB of %s MiB', 500 + i % 400, 512)
      WHEN 8 THEN format('AssertionError at step %s of %s', i % 17, 17)
      WHEN 9 THEN format('permission denied for relation orders_%s', i % 12)
      WHEN 10 THEN format('HTTP 503 from https://pay.example.com/charge/%s', i)
      ELSE format(E'Traceback (most recent call last):\\n  File "/app/jobs/run.py", line %s, '
                  || E'in run\\nRuntimeError: job %s exploded at %s', 10 + i % 300, i, c)
    END
  ELSE '' END,
  CASE WHEN st = 'waiting_approval' THEN 'needs a human' ELSE '' END,
  CASE WHEN st = 'waiting_approval' THEN c END,
  '', 'user', '',
  c, c,
  CASE WHEN st IN ('done', 'failed', 'cancelled')
       THEN LEAST(c + (random() * interval '20 minutes'), now()) END,
  CASE WHEN st = 'blocked' AND i > 1000 THEN (CASE WHEN r = 61 THEN i - 100 ELSE i - 2 END) END,
  false
FROM (
  SELECT i, i % 1000 AS r,
    CASE WHEN i % 1000 < 10 THEN now() - random() * interval '7 days'
         ELSE now() - random() * interval '30 days' END AS c,
    CASE WHEN i % 1000 < 10 THEN 'failed'
         WHEN i % 1000 < 60 THEN 'pending'
         WHEN i % 1000 = 60 THEN 'running'
         WHEN i % 1000 < 63 THEN 'blocked'
         WHEN i % 1000 = 63 THEN 'waiting_approval'
         WHEN i % 1000 < 74 THEN 'cancelled'
         ELSE 'done' END AS st
  FROM generate_series(1, @TASKS@) i
) s;
"""


def ensure_database(url: str) -> None:
    import psycopg

    from config.env import parse_database_url

    db = parse_database_url(url)
    if not db.engine.endswith("postgresql"):
        raise SystemExit("bench/diagnose.py measures PostgreSQL: DATABASE_URL=postgres://...")
    params = {"host": db.host, "port": db.port or 5432, "user": db.user, "dbname": "postgres"}
    if db.password:
        params["password"] = db.password
    with psycopg.connect(**params, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db.name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{db.name}"')
            print(f"created database {db.name}")


def seed(*, keep: bool) -> dict[str, int]:
    from django.db import connection

    from engine.models import Task, Worker

    if keep and Task.objects.count() == TASKS and Worker.objects.count() == WORKERS:
        print("reusing the seeded rows (--keep)")
    else:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # Literal SQL, no parameters: psycopg leaves its % operators alone.
            sql = SEED_SQL.replace("@TASKS@", str(TASKS)).replace("@WORKERS@", str(WORKERS))
            cursor.execute(sql)
            cursor.execute("VACUUM ANALYZE engine_task")
            cursor.execute("VACUUM ANALYZE engine_worker")
        print(
            f"seeded {TASKS:,} tasks and {WORKERS} workers in {time.perf_counter() - started:.1f} s"
        )
    return {
        "tasks": Task.objects.count(),
        "workers": Worker.objects.count(),
        "error_rows": Task.objects.filter(state="failed").exclude(last_error="").count(),
    }


def run_ours(runs: int) -> dict[str, Any]:
    from selfheal.playbooks import DiagnoseSystemPlaybook

    totals: list[float] = []
    checks: dict[str, list[float]] = {}
    DiagnoseSystemPlaybook(triggered_by="bench:warm-up").execute()
    for n in range(runs):
        started = time.perf_counter()
        execution = DiagnoseSystemPlaybook(triggered_by=f"bench:run-{n}").execute()
        totals.append((time.perf_counter() - started) * 1000)
        if execution.state != "done":
            raise SystemExit(f"diagnosis failed: {execution.error}")
        crashed = execution.findings.filter(message__startswith="The check could not run")
        if crashed.exists():
            raise SystemExit(f"a check crashed: {crashed.first()}")
        for finding in execution.findings.all():
            checks.setdefault(finding.check_name, []).append(finding.duration_ms)
        print(f"  run {n + 1}: {totals[-1]:7.1f} ms  ({execution.summary[:90]})")
    return {
        "total_ms": round(statistics.median(totals), 1),
        "total_ms_max": round(max(totals), 1),
        "runs": runs,
        "checks_ms": {name: round(statistics.median(v), 1) for name, v in checks.items()},
        "checks_ms_max": {name: round(max(v), 1) for name, v in checks.items()},
    }


# --- the baseline: the same six checks, written the obvious way -----------------------------
def naive_database() -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()


def naive_workers() -> Any:
    from django.utils import timezone

    from engine.models import Task, Worker

    now = timezone.now()
    report = {}
    for worker in Worker.objects.all():
        held = Task.objects.filter(lease_worker=worker, state="running").count()
        age = (now - worker.last_heartbeat_at).total_seconds() if worker.last_heartbeat_at else None
        report[worker.name] = (worker.state, age, held, set(worker.capabilities))
    capable = set().union(*(caps for state, _, _, caps in report.values() if state == "online"))
    pending_kinds = Counter(t.kind for t in Task.objects.filter(state="pending"))
    return {kind: n for kind, n in pending_kinds.items() if kind not in capable}


def naive_queue() -> Any:
    from django.utils import timezone

    from engine.models import Task

    now = timezone.now()
    counts: Counter[str] = Counter()
    oldest = None
    stuck = 0
    blocked: list[int] = []
    for state, created, lease, blocker in Task.objects.values_list(
        "state", "created_at", "lease_expires_at", "blocked_by_id"
    ).iterator(chunk_size=10_000):
        counts[state] += 1
        if state == "pending" and (oldest is None or created < oldest):
            oldest = created
        if state == "running" and lease is not None and lease < now:
            stuck += 1
        if state == "blocked":
            blocked.append(blocker)
    releasable = sum(1 for b in blocked if b is None or Task.objects.get(pk=b).state == "done")
    return counts, oldest, stuck, releasable


def naive_errors() -> Any:
    from django.utils import timezone

    from engine.models import Task
    from selfheal.error_patterns import normalize_error

    since = timezone.now() - timedelta(days=1)
    patterns: Counter[str] = Counter()
    for task in Task.objects.filter(state="failed"):
        if task.finished_at and task.finished_at >= since and task.last_error:
            patterns[normalize_error(task.last_error)] += 1
    return patterns.most_common(10)


def naive_completion() -> Any:
    from django.utils import timezone

    from engine.models import Task

    now = timezone.now()
    buckets: Counter[tuple[str, str]] = Counter()
    for state, finished in Task.objects.values_list("state", "finished_at").iterator(
        chunk_size=10_000
    ):
        if finished is None or state not in ("done", "failed"):
            continue
        age = now - finished
        if age <= timedelta(hours=1):
            buckets[(state, "hour")] += 1
        if age <= timedelta(days=1):
            buckets[(state, "day")] += 1
        elif age <= timedelta(days=8):
            buckets[(state, "week")] += 1
    return buckets


def naive_resources() -> Any:
    from selfheal.checks import CheckContext, ResourcesCheck

    return ResourcesCheck().run(CheckContext.current())


NAIVE: dict[str, Callable[[], Any]] = {
    "database": naive_database,
    "workers": naive_workers,
    "task_queue": naive_queue,
    "error_patterns": naive_errors,
    "completion_rates": naive_completion,
    "resources": naive_resources,
}


def run_baseline() -> dict[str, Any]:
    checks = {}
    for name, check in NAIVE.items():
        started = time.perf_counter()
        check()
        checks[name] = round((time.perf_counter() - started) * 1000, 1)
        print(f"  {name:<17} {checks[name]:9.1f} ms")
    return {"total_ms": round(sum(checks.values()), 1), "runs": 1, "checks_ms": checks}


def table(label: str, result: dict[str, Any]) -> None:
    print(f"{label}: total {result['total_ms']:.1f} ms (median of {result['runs']})")
    for name, ms in result["checks_ms"].items():
        print(f"  {name:<17} {ms:9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Reuse the rows of an earlier run.")
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rows = seed(keep=args.keep)
    print(f"rows: {rows}")

    print(f"ours: the diagnosis playbook, {args.runs} runs after a warm-up")
    ours = run_ours(args.runs)
    table("ours", ours)
    result: dict[str, Any] = {"ours": ours}
    print("baseline: the same checks written the obvious way, once")
    baseline = run_baseline()
    table("baseline", baseline)

    ratio = round(baseline["total_ms"] / ours["total_ms"], 1)
    verdict = "met" if ours["total_ms_max"] < GOAL_MS else "MISSED"
    print(f"goal: every run under {GOAL_MS:.0f} ms: {verdict}; ours is {ratio}x the baseline")
    result.update({"baseline": baseline, "ratio": ratio, "goal_ms": GOAL_MS, "rows": rows})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
