"""Several worker processes drain one queue: every task runs exactly once.

Real processes (``manage.py run_worker``) against the test database, so the claims race
through the database's own locking, as they do in production.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from engine.models import Task, TaskEvent, TaskState, Worker, WorkerState
from engine.services import create_task

TASKS = 400
PROCESSES = 4


def test_database_url() -> str:
    """The URL of the database pytest-django created, for processes started by a test."""
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return "sqlite:///" + str(Path(db["NAME"]).resolve())
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{db['HOST']}{port}/{quote(db['NAME'])}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


def start_worker(name: str, log_dir: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    environment = os.environ | {
        "DATABASE_URL": test_database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "INFO",
        **env,
    }
    command = [sys.executable, "manage.py", "run_worker", "--name", name, "--poll", "0.05"]
    with (log_dir / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [*command, *args],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(
    condition: Callable[[], bool],
    *,
    seconds: float,
    what: str,
    log_dir: Path,
    running: list[subprocess.Popen[bytes]],
) -> None:
    """Poll `condition`; fail early, with the processes' logs, if one of them has died."""
    deadline = time.monotonic() + seconds
    while not condition():
        dead = [p.args for p in running if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            reason = f"{dead} exited" if dead else f"gave up after {seconds}s"
            raise AssertionError(f"{reason} waiting for {what}\n{logs(log_dir)}")
        time.sleep(0.05)


def logs(log_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(log_dir.iterdir()))


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    # Gone before pytest-django empties the database, which their locks would block.
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def drain_with_worker_processes(
    started: list[subprocess.Popen[bytes]], log_dir: Path
) -> Counter[str]:
    names = [f"proc-{n}" for n in range(PROCESSES)]
    started.extend(start_worker(name, log_dir, "--capabilities", "sleep") for name in names)
    wait_for(
        lambda: Worker.objects.filter(name__in=names).count() == PROCESSES,
        seconds=60,
        what=f"{PROCESSES} workers to come online",
        log_dir=log_dir,
        running=started,
    )
    # All tasks appear at once, so that every worker is already polling when they do. Each
    # takes a few milliseconds outside any transaction: on SQLite an instant task would let
    # the first worker to get the write lock drain the queue alone, proving no overlap.
    with transaction.atomic():
        for n in range(TASKS):
            create_task(title=f"nap {n}", kind="sleep", payload={"seconds": 0.005, "n": n})
    wait_for(
        lambda: Task.objects.filter(state=TaskState.DONE).count() == TASKS,
        seconds=120,
        what="the queue to drain",
        log_dir=log_dir,
        running=started,
    )
    for process in started:
        process.send_signal(signal.SIGTERM)
    for process in started:
        assert process.wait(30) == 0, logs(log_dir)

    claims = TaskEvent.objects.filter(from_state=TaskState.PENDING, to_state=TaskState.RUNNING)
    completions = TaskEvent.objects.filter(from_state=TaskState.RUNNING, to_state=TaskState.DONE)
    assert Task.objects.filter(state=TaskState.DONE, attempts=1).count() == TASKS
    for events in (claims, completions):
        per_task = events.values("task").annotate(n=Count("id"))
        assert per_task.count() == TASKS
        assert not per_task.filter(n__gt=1).exists(), "a task was claimed or finished twice"
    assert not TaskEvent.objects.exclude(
        to_state__in=[TaskState.PENDING, TaskState.RUNNING, TaskState.DONE]
    ).exists()
    assert set(Worker.objects.values_list("state", flat=True)) == {WorkerState.OFFLINE}
    return Counter(claims.values_list("actor", flat=True))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_processes_run_each_task_once_on_postgresql(
    processes: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")

    per_worker = drain_with_worker_processes(processes, tmp_path)

    assert sum(per_worker.values()) == TASKS
    assert len(per_worker) >= 2, f"the claims did not overlap: {per_worker}"


@pytest.mark.django_db(transaction=True)
def test_worker_processes_run_each_task_once_on_sqlite(
    processes: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant")

    per_worker = drain_with_worker_processes(processes, tmp_path)

    assert sum(per_worker.values()) == TASKS
    assert len(per_worker) >= 2, f"the claims did not overlap: {per_worker}"
