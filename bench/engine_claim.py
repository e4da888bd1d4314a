"""Task claims per second: the engine's services against a raw SKIP LOCKED loop.

    .venv/bin/python bench/engine_claim.py [--tasks 2000] [--processes 1,2,4] [--rounds 3]

Runs against PostgreSQL at DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/juggernaut_bench), which it creates and migrates.

For each process count P, the same queue of pending echo tasks is drained twice on the same
table: once by P processes each looping ``TaskRouter.claim`` + ``complete_task`` (ours:
lease, attempt count, history rows, dependents), once by P processes each looping the two
statements a hand-written queue needs (baseline):

    UPDATE engine_task SET state='running', ... WHERE id = (SELECT id FROM engine_task
      WHERE state='pending' AND kind = ANY(...) AND run_after <= now()
      ORDER BY priority DESC, created_at, id FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id
    UPDATE engine_task SET state='done', ... WHERE id = ...

The baseline matches kinds with ``kind IN (...)``, the form our claim uses: on PostgreSQL 15
``kind = ANY(array)`` cannot walk the claim index and sorts every pending row per claim, so
it is also run, as "raw ANY", for reference; the ratio is against the faster IN form.

"ours" claims with built-in workers, which may claim any task. "owned" runs the same loop
with external workers registered by one user, on tasks that user created: a worker that is
neither built-in nor shared claims only its owner's tasks, a condition of the claim
(docs/security.md, "Who may claim what"), so this is what that condition costs.

Rate = tasks / seconds from "go" until the last process found the queue empty; the best of
--rounds interleaved rounds. Every run is checked: each task done exactly once, and for ours
two history rows per task. The last line printed is one JSON object:
{"ours", "baseline", "ratio", "baseline_any", "owned", "ratio_owned"}, each keyed by process
count.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_BENCH_DATABASE_URL, insert_tasks, setup_django

CLAIM_SQL = """
UPDATE engine_task
   SET state = 'running', lease_worker_id = %(worker)s,
       lease_expires_at = now() + interval '60 seconds', started_at = now(),
       attempts = attempts + 1, updated_at = now()
 WHERE id = (
       SELECT id FROM engine_task
        WHERE state = 'pending' AND kind {kinds} AND run_after <= now()
        ORDER BY priority DESC, created_at, id
        FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id
"""
DONE_SQL = """
UPDATE engine_task
   SET state = 'done', result = %(result)s, lease_worker_id = NULL, lease_expires_at = NULL,
       finished_at = now(), updated_at = now()
 WHERE id = %(id)s
"""


def drain_ours(index: int) -> int:
    from engine.models import Worker
    from engine.services import TaskRouter, complete_task

    worker = Worker.objects.get(name=f"bench-{index}")
    router = TaskRouter()
    done = 0
    yield_ready()
    while (task := router.claim(worker)) is not None:
        complete_task(worker=worker, task_id=task.pk, result={"ok": True})
        done += 1
    return done


def drain_baseline(index: int, *, kinds_sql: str = "IN (%(kind0)s)") -> int:
    import psycopg
    from psycopg.types.json import Jsonb

    from engine.models import Worker

    worker_id = Worker.objects.get(name=f"bench-{index}").pk
    claim = CLAIM_SQL.replace("{kinds}", kinds_sql)
    params = {"worker": worker_id, "kind0": "echo", "kinds": ["echo"]}
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("SELECT 1")
        done = 0
        yield_ready()
        while True:
            row = conn.execute(claim, params).fetchone()
            if row is None:
                return done
            conn.execute(DONE_SQL, {"result": Jsonb({"ok": True}), "id": row[0]})
            done += 1


_barrier: Any = None


def yield_ready() -> None:
    """Connected and warm: wait until every process is, so that all start together."""
    _barrier.wait()


def child(mode: str, index: int, barrier: Any, results: Any) -> None:
    global _barrier
    _barrier = barrier
    if mode in ("ours", "owned"):
        done = drain_ours(index)
    elif mode == "baseline":
        done = drain_baseline(index)
    else:
        done = drain_baseline(index, kinds_sql="= ANY(%(kinds)s)")
    results.put((index, done, time.perf_counter()))


def reset_queue(tasks: int, processes: int, *, owned: bool = False) -> None:
    from django.contrib.auth.models import User
    from django.db import connection, connections

    from engine.models import Worker, WorkerState
    from engine.services import ensure_builtin_worker

    owner, _ = User.objects.get_or_create(username="bench-owner")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE engine_taskevent, engine_task RESTART IDENTITY CASCADE")
    insert_tasks(
        tasks,
        title="'bench ' || g",
        kind="'echo'",
        state="'pending'",
        source="'user'" if owned else "'engine'",
        created_by_id=str(owner.pk) if owned else "NULL",
        run_after="now() - interval '1 hour'",
        created_at="now() - interval '1 hour' + g * interval '1 millisecond'",
        updated_at="now()",
    )
    for index in range(processes):
        if owned:
            Worker.objects.update_or_create(
                name=f"bench-{index}",
                defaults={
                    "capabilities": ["echo"],
                    "max_concurrency": 1,
                    "state": WorkerState.ONLINE,
                    "builtin": False,
                    "shared": False,
                    "registered_by": owner,
                },
            )
        else:
            ensure_builtin_worker(name=f"bench-{index}", capabilities=["echo"], max_concurrency=1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE engine_task")
        cursor.execute("VACUUM ANALYZE engine_taskevent")
    connections.close_all()  # forked children must not share the parent's connection


def verify(tasks: int, mode: str) -> None:
    from engine.models import Task, TaskEvent, TaskState

    done = Task.objects.filter(state=TaskState.DONE, attempts=1).count()
    if done != tasks:
        sys.exit(f"{mode}: {done} of {tasks} tasks done exactly once")
    if mode in ("ours", "owned"):
        events = TaskEvent.objects.filter(to_state__in=[TaskState.RUNNING, TaskState.DONE])
        if events.count() != 2 * tasks:
            sys.exit(f"{mode}: {events.count()} history rows for {tasks} tasks, expected 2 each")


def measure(mode: str, processes: int, tasks: int) -> float:
    reset_queue(tasks, processes, owned=mode == "owned")
    context = mp.get_context("fork")
    barrier = context.Barrier(processes + 1)
    results = context.Queue()
    workers = [
        context.Process(target=child, args=(mode, index, barrier, results))
        for index in range(processes)
    ]
    for process in workers:
        process.start()
    barrier.wait(timeout=60)
    start = time.perf_counter()
    finished = [results.get(timeout=300) for _ in workers]
    for process in workers:
        process.join(30)
    end = max(stamp for _, _, stamp in finished)
    if sum(done for _, done, _ in finished) != tasks:
        sys.exit(f"{mode}: processes report {finished}, expected {tasks} tasks in all")
    verify(tasks, mode)
    return tasks / (end - start)


MODES = ("baseline", "baseline_any", "ours", "owned")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django(os.environ.get("DATABASE_URL", DEFAULT_BENCH_DATABASE_URL))

    counts = [int(n) for n in args.processes.split(",")]
    best: dict[str, dict[str, float]] = {mode: {} for mode in MODES}
    print(f"{args.tasks} echo tasks per run, best of {args.rounds} interleaved round(s)")
    print(
        f"{'processes':>9}  {'ours/s':>8}  {'owned/s':>8}  {'raw IN/s':>8}  {'raw ANY/s':>9}  "
        f"{'ratio':>5}  {'owned':>5}"
    )
    for count in counts:
        key = str(count)
        for _ in range(args.rounds):
            # Interleaved, so that other load on the machine hits every mode alike.
            for mode in MODES:
                rate = measure(mode, count, args.tasks)
                best[mode][key] = round(max(best[mode].get(key, 0.0), rate), 1)
        ours, owned, raw, raw_any = (
            best[mode][key] for mode in ("ours", "owned", "baseline", "baseline_any")
        )
        print(
            f"{count:>9}  {ours:>8.1f}  {owned:>8.1f}  {raw:>8.1f}  {raw_any:>9.1f}  "
            f"{ours / raw:>5.2f}  {owned / raw:>5.2f}"
        )
    ratios = {key: round(best["ours"][key] / best["baseline"][key], 3) for key in best["ours"]}
    owned_ratios = {
        key: round(best["owned"][key] / best["baseline"][key], 3) for key in best["owned"]
    }
    print(
        json.dumps(
            {
                "ours": best["ours"],
                "baseline": best["baseline"],
                "ratio": ratios,
                "baseline_any": best["baseline_any"],
                "owned": best["owned"],
                "ratio_owned": owned_ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
