"""Upserts that add counts in the database: INSERT ... ON CONFLICT DO UPDATE.

``bulk_create(update_conflicts=True)`` can only SET a column to the incoming value, which
would overwrite a count another batch just added to. These statements add instead
(``count = count + excluded.count``), in syntax PostgreSQL and SQLite (3.24+) share; only
the two-argument max and min are spelled differently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connection

from logcrawler.levels import LEVEL_NUMBERS
from logcrawler.models import FingerprintState

if TYPE_CHECKING:
    from logcrawler.services.ingest import GroupTally

ROWS_PER_STATEMENT = 500
FP = "logcrawler_errorfingerprint"
_NEW = FingerprintState.NEW.value
OCC = "logcrawler_erroroccurrence"

Item = TypeVar("Item")


def _chunks(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _greatest() -> str:
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def _least() -> str:
    return "LEAST" if connection.vendor == "postgresql" else "MIN"


def _when(value: datetime) -> Any:
    if connection.vendor == "postgresql":
        return value  # psycopg sends an aware datetime as timestamptz itself
    return connection.ops.adapt_datetimefield_value(value)


_FP_COLUMNS = (
    "id, kind, service, template, status_class, level, level_no, sample_message, "
    'first_seen, last_seen, total_count, state, "group", group_version, group_order, '
    "created_at, state_changed_by"
)
# PostgreSQL types of those columns, for unnest(): one array parameter per column, so the
# statement stays small whatever the batch (psycopg parses every placeholder client-side).
_FP_ARRAY_TYPES = (
    "varchar",
    "varchar",
    "varchar",
    "text",
    "varchar",
    "varchar",
    "int",
    "text",
    "timestamptz",
    "timestamptz",
    "bigint",
    "varchar",
    "jsonb",
    "bigint",
    "bigint",
    "timestamptz",
    "varchar",
)


def _fingerprint_source(rows: int) -> str:
    """The rows to insert: unnest() of column arrays on PostgreSQL, VALUES elsewhere."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for kind in _FP_ARRAY_TYPES)
        return f"SELECT * FROM unnest({arrays})"  # noqa: S608 (placeholders only)
    placeholder = "(" + ", ".join(["%s"] * len(_FP_ARRAY_TYPES)) + ")"
    return f"VALUES {', '.join([placeholder] * rows)}"


def _fingerprint_statement(rows: int) -> str:
    greatest, least = _greatest(), _least()
    resolved = FingerprintState.RESOLVED.value
    regressed = FingerprintState.REGRESSED.value
    # Entries from before the resolution (a crawl catching up) do not reopen it.
    comes_back = (
        f"({FP}.state = '{resolved}' AND ({FP}.resolved_at IS NULL "
        f"OR excluded.last_seen > {FP}.resolved_at))"
    )
    # Only constants and placeholders are formatted in; every value is a parameter.
    return (
        f"INSERT INTO {FP} ({_FP_COLUMNS}) {_fingerprint_source(rows)} "
        "ON CONFLICT (id) DO UPDATE SET "
        "template = excluded.template, "
        f"level = CASE WHEN excluded.level_no > {FP}.level_no "
        f"THEN excluded.level ELSE {FP}.level END, "
        f"level_no = {greatest}({FP}.level_no, excluded.level_no), "
        f"first_seen = {least}({FP}.first_seen, excluded.first_seen), "
        f"last_seen = {greatest}({FP}.last_seen, excluded.last_seen), "
        f"total_count = {FP}.total_count + excluded.total_count, "
        f'"group" = CASE WHEN excluded.group_version > 0 '
        f'THEN excluded."group" ELSE {FP}."group" END, '
        f"group_version = {greatest}({FP}.group_version, excluded.group_version), "
        f"regressed_at = CASE WHEN {comes_back} "
        f"THEN excluded.last_seen ELSE {FP}.regressed_at END, "
        f"state_changed_at = CASE WHEN {comes_back} "
        f"THEN excluded.last_seen ELSE {FP}.state_changed_at END, "
        f"state_changed_by = CASE WHEN {comes_back} "
        f"THEN 'system:regression' ELSE {FP}.state_changed_by END, "
        f"state = CASE WHEN {comes_back} THEN '{regressed}' ELSE {FP}.state END"
    )


def _execute(statement: str, params: list[Any]) -> None:
    if connection.vendor == "postgresql":
        # Django's psycopg cursors bind client-side: every array element would be quoted
        # into the SQL text in Python (a third of the upserts' time). A plain psycopg cursor
        # on the same connection and transaction sends the arrays as binary parameters.
        import psycopg

        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(statement, params, binary=True)
        return
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _params(rows: list[tuple[Any, ...]]) -> list[Any]:
    """Column arrays for unnest() on PostgreSQL, the rows flattened for VALUES elsewhere."""
    if connection.vendor == "postgresql":
        return [list(column) for column in zip(*rows, strict=True)]
    return [value for row in rows for value in row]


def upsert_fingerprints(
    *,
    tallies: list[GroupTally],
    changed: set[str],
    version: int,
    order: dict[str, int],
    now: datetime,
) -> None:
    """Insert new fingerprints, add this batch's counts to existing ones. A resolved
    fingerprint that appears again becomes regressed. Groups in ``changed`` are stored."""
    created = _when(now)
    postgres = connection.vendor == "postgresql"
    # PostgreSQL takes every row in one statement (arrays have no parameter limit).
    for chunk in _chunks(tallies, len(tallies) if postgres else ROWS_PER_STATEMENT):
        rows: list[tuple[Any, ...]] = []
        for tally in chunk:
            group = tally.group
            stored = group.id in changed
            rows.append(
                (
                    group.id,
                    group.kind,
                    tally.service,
                    group.template,
                    group.tokens[-1] if group.kind == "http" else "",
                    tally.level,
                    LEVEL_NUMBERS.get(tally.level, 0),
                    tally.sample,
                    _when(tally.first_seen),
                    _when(tally.last_seen),
                    tally.count,
                    _NEW,
                    json.dumps(group.state().as_json()) if stored else "{}",
                    version if stored else 0,
                    order.get(group.id, 0),
                    created,
                    "",
                )
            )
        _execute(_fingerprint_statement(len(rows)), _params(rows))


_OCC_UPSERT = (
    f"INSERT INTO {OCC} (fingerprint_id, minute, count) {{source}} "
    f"ON CONFLICT (fingerprint_id, minute) DO UPDATE SET count = {OCC}.count + excluded.count"
)


def upsert_occurrences(minutes: dict[tuple[str, datetime], int]) -> None:
    """Add per-minute counts to the fingerprints' occurrence rows."""
    if not minutes:
        return
    # Constants and placeholders only; the values are parameters.
    if connection.vendor == "postgresql":
        keys = list(minutes)
        source = "SELECT * FROM unnest(%s::varchar[], %s::timestamptz[], %s::int[])"
        _execute(
            _OCC_UPSERT.format(source=source),
            [[k[0] for k in keys], [k[1] for k in keys], list(minutes.values())],
        )
        return
    items = [
        (fingerprint, _when(minute), count) for (fingerprint, minute), count in minutes.items()
    ]
    for chunk in _chunks(items, ROWS_PER_STATEMENT * 2):
        source = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(chunk))
        _execute(_OCC_UPSERT.format(source=source), _params(list(chunk)))
