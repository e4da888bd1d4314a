"""Database connections are bounded per process (issue 15: at 64 concurrent gateway calls the
gateway's threads held a connection each, PostgreSQL ran out, and calls failed with 500)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, connections

ROOT = Path(__file__).resolve().parents[2]
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="Django's pool is PostgreSQL's"
)


def settings_with(**environ: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({'pool': db['OPTIONS'].get('pool'), 'age': db['CONN_MAX_AGE']}))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x" * 50,
        **environ,
    }
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_postgresql_gets_a_bounded_pool_from_the_settings() -> None:
    out = settings_with(
        DATABASE_URL="postgres://u@db.example:5432/jug",
        DATABASE_POOL_MIN="2",
        DATABASE_POOL_MAX="7",
        DATABASE_POOL_TIMEOUT="12",
    )

    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "pool": {"min_size": 2, "max_size": 7, "timeout": 12},
        "age": 0,
    }


def test_a_pool_smaller_than_its_minimum_stops_the_start() -> None:
    out = settings_with(
        DATABASE_URL="postgres://u@db.example:5432/jug",
        DATABASE_POOL_MIN="5",
        DATABASE_POOL_MAX="2",
    )

    assert out.returncode != 0
    assert "DATABASE_POOL_MIN (5) is more than DATABASE_POOL_MAX (2)" in out.stderr


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_forked_child_opens_its_own_connections() -> None:
    """django-q2 forks its workers after `connections.close_all()`, which with a pool puts
    the parent's connection back in it: the child must not take it from there."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        before = {int(row[0]) for row in cursor.fetchall()}  # the pool's included
    connections.close_all()  # as django-q2 does before it forks
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(writer, str(backend_pid()).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        reported = pipe.read()
    os.waitpid(child, 0)

    assert reported and int(reported) not in before  # a connection of its own
    backend_pid()  # and the parent's connections still work


@pytest.fixture
def pool_of_two() -> Iterator[None]:
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("pool")
    connections.close_all()
    connection.close_pool()
    options["pool"] = {"min_size": 0, "max_size": 2, "timeout": 20}
    yield
    connections.close_all()
    connection.close_pool()
    options["pool"] = saved


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("pool_of_two")
def test_a_thread_waits_for_a_connection_instead_of_failing() -> None:
    pids: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.2)")
                pids.append(int(cursor.fetchone()[0]))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # back to the pool

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and len(pids) == 6
    assert len(set(pids)) <= 2
    assert time.monotonic() - started >= 0.55  # three rounds of two: the others waited
