"""The Engine page's queries on a million tasks: median milliseconds and the plan of each.

    .venv/bin/python bench/engine_page_queries.py [--tasks 1000000] [--runs 15] [--reuse]

Runs against PostgreSQL at DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/juggernaut_bench), which it creates and migrates. The
task table is filled in one INSERT ... SELECT generate_series: mostly finished work (done,
failed, cancelled) with a live minority (pending, running, blocked, waiting_approval) over
five kinds and twenty workers, then VACUUM ANALYZE. ``--reuse`` keeps a table already filled
to that size. Each query is evaluated through the ORM as the page evaluates it (rows turned
into objects included), --runs times after one warm-up run; the median is reported with the
first line of its EXPLAIN plan. Beside them, as the baseline, the exact counts by state the
page made before (``counts_by_state``) and the same with ``Count("*")``. The last line is one
JSON object: {"ours", "baseline", "ratio", "goal_ms"}, with ``ratio`` the page's counts
(``dashboard_counts``) over the exact counts, in milliseconds (under 1: ours is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_BENCH_DATABASE_URL, insert_tasks, median_ms, setup_django

GOAL_MS = 50
WORKERS = 20
LARGE_FIELDS = ("payload", "result", "last_error")

# Per 10,000 tasks: the live states are a few percent of a table that mostly holds history.
STATE_SQL = """CASE
    WHEN g % 10000 < 150 THEN 'pending'
    WHEN g % 10000 < 160 THEN 'running'
    WHEN g % 10000 < 200 THEN 'blocked'
    WHEN g % 10000 < 220 THEN 'waiting_approval'
    WHEN g % 10000 < 9400 THEN 'done'
    WHEN g % 10000 < 9800 THEN 'failed'
    ELSE 'cancelled' END"""
LIVE = "g % 10000 < 220"
FINISHED = "g % 10000 >= 220"


def fill(tasks: int) -> None:
    from django.db import connection

    from engine.models import Worker
    from engine.services import ensure_builtin_worker

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE engine_taskevent, engine_task RESTART IDENTITY CASCADE")
    Worker.objects.all().delete()
    workers = [
        ensure_builtin_worker(name=f"page-{n}", capabilities=["echo"], max_concurrency=4).pk
        for n in range(WORKERS)
    ]
    created = f"now() - ({tasks} - g) * interval '2 seconds'"
    insert_tasks(
        tasks,
        title="'task ' || g",
        kind="(ARRAY['echo','sleep','agent','selfheal.diagnose','codehealth.scan'])[1 + g % 5]",
        state=STATE_SQL,
        priority="(g % 7) * 10",
        attempts=f"CASE WHEN {LIVE} THEN 0 ELSE 1 END",
        source="'engine'",
        created_at=created,
        updated_at=created,
        run_after=created,
        lease_worker_id=f"CASE WHEN g % 10000 BETWEEN 150 AND 159 "
        f"THEN {workers[0]} + g % {WORKERS} END",
        lease_expires_at="CASE WHEN g % 10000 BETWEEN 150 AND 159 THEN now() END",
        started_at=f"CASE WHEN g % 10000 >= 150 THEN {created} END",
        approval_requested_at=f"CASE WHEN g % 10000 BETWEEN 200 AND 219 THEN {created} END",
        approval_reason="CASE WHEN g % 10000 BETWEEN 200 AND 219 THEN 'needs a human' ELSE '' END",
        finished_at=f"CASE WHEN {FINISHED} THEN {created} + interval '1 second' END",
        result="CASE WHEN g % 10000 BETWEEN 220 AND 9399 THEN '{\"ok\": true}'::jsonb END",
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE engine_task")
        cursor.execute("VACUUM ANALYZE engine_worker")


def page_queries() -> dict[str, Callable[[], Any]]:
    """The queries engine/views.py makes for the Engine page, as it makes them."""

    from engine.models import Task, TaskState, Worker

    tasks = Task.objects
    listing = tasks.for_listing() if hasattr(tasks, "for_listing") else tasks.all()
    workers = Worker.objects
    counted = workers.with_running_count() if hasattr(workers, "with_running_count") else workers
    return {
        "dashboard_counts": lambda: tasks.dashboard_counts(),
        "oldest_pending": lambda: tasks.defer(*LARGE_FIELDS).oldest_pending(),
        "awaiting_approval": lambda: list(tasks.awaiting_approval().defer(*LARGE_FIELDS)[:50]),
        "recent_tasks": lambda: list(listing.order_by("-created_at", "-id")[:51]),
        "recent_pending": lambda: list(
            listing.filter(state=TaskState.PENDING).order_by("-created_at", "-id")[:51]
        ),
        # A fresh queryset per run: an evaluated one would answer from its cache.
        "workers": lambda: list(counted.order_by("state", "name")[:200]),
    }


def candidate_queries() -> dict[str, Callable[[], Any]]:
    """The exact counts the page no longer makes on a large table, measured beside it."""
    from django.db.models import Count

    from engine.models import Task

    return {
        "counts_count_star": lambda: list(
            Task.objects.order_by().values_list("state").annotate(n=Count("*"))
        ),
        "counts_by_state_exact": lambda: Task.objects.counts_by_state(),
    }


def plans() -> dict[str, str]:
    from django.db.models import Count

    from engine.models import Task, TaskState, Worker

    tasks = Task.objects
    listing = tasks.for_listing() if hasattr(tasks, "for_listing") else tasks.all()
    workers = Worker.objects
    if hasattr(workers, "with_running_count"):
        workers = workers.with_running_count()
    querysets = {
        "counts_count_star": tasks.order_by().values_list("state").annotate(n=Count("*")),
        "counts_by_state_exact": tasks.order_by().values_list("state").annotate(n=Count("*")),
        "dashboard_counts": tasks.unfinished()
        .order_by()
        .values_list("state")
        .annotate(n=Count("*")),
        "oldest_pending": tasks.filter(state=TaskState.PENDING).order_by("created_at")[:1],
        "awaiting_approval": tasks.awaiting_approval()[:50],
        "recent_tasks": listing.order_by("-created_at", "-id")[:51],
        "recent_pending": listing.filter(state=TaskState.PENDING).order_by("-created_at", "-id")[
            :51
        ],
        "workers": workers.order_by("state", "name")[:200],
    }
    return {name: summary(qs.explain()) for name, qs in querysets.items()}


def summary(plan: str) -> str:
    """The plan's top line and the first node that reads the table."""
    lines = [line.strip().removeprefix("->  ") for line in plan.splitlines()]
    scan = next((line for line in lines if " Scan " in f" {line}"), "")
    top = lines[0].split("  (")[0]
    return f"{top} / {scan.split('  (')[0]}" if scan and scan != lines[0] else top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="keep a table already filled")
    args = parser.parse_args()
    setup_django(os.environ.get("DATABASE_URL", DEFAULT_BENCH_DATABASE_URL))

    from engine.models import Task

    if not (args.reuse and Task.objects.count() == args.tasks):
        fill(args.tasks)
    print(f"{Task.objects.count():,} tasks; median of {args.runs} runs after one warm-up")
    explained = plans()
    results: dict[str, float] = {}
    candidates: dict[str, float] = {}
    for label, queries, into in (
        ("the page's queries", page_queries(), results),
        ("exact counts, for comparison", candidate_queries(), candidates),
    ):
        print(f"-- {label}")
        for name, run in queries.items():
            run()
            into[name] = round(median_ms(run, runs=args.runs), 2)
            mark = "ok  " if into[name] < GOAL_MS else "SLOW"
            print(f"{mark} {name:<22} {into[name]:>8.2f} ms   {explained[name]}")
    ratio = round(results["dashboard_counts"] / candidates["counts_by_state_exact"], 3)
    print(f"dashboard_counts over the exact counts: {ratio}")
    print(json.dumps({"ours": results, "baseline": candidates, "ratio": ratio, "goal_ms": GOAL_MS}))


if __name__ == "__main__":
    main()
