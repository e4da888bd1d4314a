"""Shared set-up for the benchmarks that need a database: create it, migrate it, time things."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/juggernaut_bench"


def shared_data(name: str) -> Path:
    """``shared/data/<name>`` beside the checkout (``../shared``), or beside the folder that
    holds it (a worktree under ``wt/``): the first that exists, else the first."""
    candidates = [base / "shared" / "data" / name for base in (REPO.parent, REPO.parent.parent)]
    return next((path for path in candidates if path.exists()), candidates[0])


def setup_django(database_url: str) -> None:
    """Point Django at `database_url` (PostgreSQL), create the database if missing, migrate."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"this benchmark needs PostgreSQL; DATABASE_URL is {database_url!r}")
    sys.path.insert(0, str(REPO))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    create_database(database_url)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def create_database(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    from config.env import parse_database_url

    url = parse_database_url(database_url)
    server = psycopg.connect(
        dbname="postgres",
        user=url.user or None,
        password=url.password or None,
        host=url.host or None,
        port=url.port or None,
        autocommit=True,
    )
    with server:
        exists = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url.name])
        if exists.fetchone() is None:
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.name)))


def insert_tasks(count: int, **columns: str) -> None:
    """Insert `count` tasks in one INSERT ... SELECT generate_series(1, count) AS g.

    `columns` maps a column to an SQL expression (it may use g); every other column gets
    the model field's default, so the statement keeps up with fields added later.
    """
    from django.db import connection

    from engine.models import Task

    names, values, params = [], [], []
    for field in Task._meta.concrete_fields:
        if field.primary_key:
            continue
        names.append(connection.ops.quote_name(field.column))
        if field.column in columns:
            values.append(columns[field.column].replace("%", "%%"))  # % is modulo here
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    statement = (
        f"INSERT INTO engine_task ({', '.join(names)}) "
        f"SELECT {', '.join(values)} FROM generate_series(1, {int(count)}) AS g"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def median_ms(run: Callable[[], object], *, runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
