"""PostgreSQL fast paths: the hot calls (claim, complete) as one prepared statement each.

Django turns psycopg's prepared statements off (``prepare_threshold`` None) for connection
poolers that cannot keep them. Planning a claim costs about as much as running it, so these
few statements are prepared explicitly: a direct connection and PgBouncer 1.21+ keep them.
The ORM's own queries are unaffected (Django's client-side binding cursors never prepare).
A deployment behind an older pooler sets ``ENGINE_PREPARED_STATEMENTS=false`` in its environment.
bench/engine_claim.py measures the difference.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.db.backends.postgresql import base as postgresql
from django.db.models import Field

from engine.models import Task

ServerBindingCursor: Any = postgresql.ServerBindingCursor
# A threshold never reached: only statements executed with prepare=True are prepared.
ONLY_WHEN_ASKED = 2**31


class PreparedCursor(ServerBindingCursor):
    """Binds parameters on the server and prepares each statement on first use."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("prepare", True)
        return super().execute(query, params, **kwargs)


@cache
def task_fields() -> tuple[Field[Any, Any], ...]:
    return tuple(Task._meta.concrete_fields)


@cache
def task_columns(alias: str) -> str:
    """The task table's columns in the model's order, for a RETURNING list."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(str(field.column))}" for field in task_fields())


def fetch_task(sql: str, params: dict[str, Any]) -> Task | None:
    """Run a statement whose result is zero or one row of `task_columns`, as a `Task`."""
    # What connection.cursor() does, minus the client-side cursor it would open for nothing.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    session = cast(Any, connection.connection)
    prepared = settings.ENGINE_PREPARED_STATEMENTS
    if prepared and session.prepare_threshold is None:
        session.prepare_threshold = ONLY_WHEN_ASKED
    with connection.wrap_database_errors:
        raw = cast(Any, PreparedCursor(session) if prepared else ServerBindingCursor(session))
    logged = connection.queries_logged
    with connection.make_debug_cursor(raw) if logged else connection.make_cursor(raw) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = task_fields()
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=True)
    ]
    return Task.from_db(connection.alias, [field.attname for field in fields], values)
