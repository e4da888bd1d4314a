"""Log ingest end to end on PostgreSQL: lines a second from a log file to stored rows.

    .venv/bin/python bench/ingest.py [--lines 200000] [--naive-lines 10000] [--rounds 3]
                                     [--data DIR] [--without-read-ahead]

Runs against PostgreSQL at DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/juggernaut_ingest_bench), which it creates and migrates.

The input: the Loghub 2k samples (DIR defaults to ../shared/data/loghub_2k; every
``*/*.log``), the systems interleaved line by line and repeated up to --lines, with the
numbers in each repetition shifted (so that lines differ the way real traffic does and the
fingerprinter's exact-message cache does not make repeats free), each line stamped with an
ISO time (spread over a day, so that per-minute counts span many minutes per batch) and its
system as the service: ``2025-06-02T00:00:00.432Z [HDFS] 081109 203615 148 INFO ...``.

- **ours**: the file written once, then a file source crawled by `crawl_source`: read, join
  multi-line entries, parse (one batch ahead, in a thread), fingerprint while streaming
  the rows into COPY, upsert fingerprints and per-minute occurrences, move the cursor, one
  transaction per LOGCRAWLER_BATCH_LINES entries. Alert rules are disabled (alerting is not
  part of ingest). Best of --rounds, each on emptied tables and a cold fingerprinter.
  ``--without-read-ahead`` also times each round without the read-ahead, alternating.
- **baseline**: the naive path on the first --naive-lines lines: per line, parse and
  fingerprint, then ``LogEntry.objects.create``, a get-or-create of the fingerprint and of
  its minute row and an ``F()`` increment of each, in autocommit.
- **ceiling**: a bare ``COPY`` of the raw lines into a one-column temporary table: what the
  database takes when nothing is parsed, grouped or indexed.

The last line printed is one JSON object: {"ours", "baseline", "ratio", "ceiling_copy", ...}
with rates in lines a second.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import setup_django, shared_data

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/juggernaut_ingest_bench"
DEFAULT_DATA = shared_data("loghub_2k")
START = datetime(2025, 6, 2, tzinfo=UTC)
_NUMBER = re.compile(r"\d+")
TABLES = (
    "logcrawler_alert",
    "logcrawler_erroroccurrence",
    "logcrawler_logentry",
    "logcrawler_errorfingerprint",
    "logcrawler_fingerprinterstate",
    "logcrawler_ingestbatch",
    "logcrawler_logsource",
)


def build_lines(data: Path, count: int) -> list[str]:
    systems = {
        path.parent.name: path.read_text(errors="replace").splitlines()
        for path in sorted(data.glob("*/*.log"))
    }
    if not systems:
        sys.exit(f"no */*.log under {data}")
    interleaved = [
        (name, line)
        for row in zip_longest(*[[(n, x) for x in lines] for n, lines in systems.items()])
        for name, line in (item for item in row if item is not None)
        if line.strip()
    ]
    step = timedelta(days=1) / count
    lines = []
    for index in range(count):
        repetition, position = divmod(index, len(interleaved))
        name, raw = interleaved[position]
        if repetition:
            raw = _NUMBER.sub(lambda m, r=repetition: str(int(m.group()) + r), raw)
        stamp = START + index * step
        lines.append(f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z [{name}] {raw}")
    return lines


def empty_tables() -> None:
    from django.db import connection

    from logcrawler.services import reset_fingerprinter_cache

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    reset_fingerprinter_cache()


def run_ours(path: Path, lines: int, *, read_ahead: bool = True) -> dict[str, Any]:
    from logcrawler.models import ErrorFingerprint, LogEntry, LogSource, SourceKind
    from logcrawler.services import crawl, crawl_source
    from logcrawler.sources.readahead import read_ahead as real_read_ahead

    crawl.read_ahead = real_read_ahead if read_ahead else (lambda items: items)  # type: ignore[assignment]
    empty_tables()
    source = LogSource.objects.create(
        name="bench", kind=SourceKind.FILE, settings={"path": str(path)}
    )
    start = time.perf_counter()
    report = crawl_source(source=source)
    seconds = time.perf_counter() - start
    if report.status != "ok":
        sys.exit(f"crawl failed: {report.line()}")
    entries = LogEntry.objects.count()
    return {
        "lines_per_second": lines / seconds,
        "seconds": seconds,
        "entries": entries,
        "fingerprints": ErrorFingerprint.objects.count(),
    }


def run_naive(lines: list[str]) -> dict[str, Any]:
    from django.db.models import F

    from logcrawler.fingerprint import ErrorFingerprinter, parse_line
    from logcrawler.models import ErrorFingerprint, ErrorOccurrence, LogEntry

    empty_tables()
    fingerprinter = ErrorFingerprinter()
    start = time.perf_counter()
    for line in lines:
        entry = parse_line(line)
        result = fingerprinter.fingerprint(entry)
        ts = entry.timestamp or START
        fingerprint, _ = ErrorFingerprint.objects.get_or_create(
            id=result.id,
            defaults={
                "kind": result.group.kind,
                "service": entry.service,
                "template": result.template,
                "level": entry.level,
                "first_seen": ts,
                "last_seen": ts,
                "total_count": 0,
                "sample_message": entry.message,
            },
        )
        ErrorFingerprint.objects.filter(pk=fingerprint.pk).update(
            total_count=F("total_count") + 1, last_seen=ts
        )
        LogEntry.objects.create(
            ts=ts,
            level=entry.level,
            service=entry.service,
            message=entry.message,
            attributes=entry.attributes,
            fingerprint=fingerprint,
        )
        minute = ts.replace(second=0, microsecond=0)
        ErrorOccurrence.objects.get_or_create(fingerprint=fingerprint, minute=minute)
        ErrorOccurrence.objects.filter(fingerprint=fingerprint, minute=minute).update(
            count=F("count") + 1
        )
    seconds = time.perf_counter() - start
    return {"lines_per_second": len(lines) / seconds, "seconds": seconds}


def run_copy(lines: list[str]) -> dict[str, Any]:
    from django.db import connection, transaction

    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_raw (line text) ON COMMIT DROP")
        with cursor.cursor.copy("COPY bench_raw (line) FROM STDIN") as copy:
            for line in lines:
                copy.write_row((line.replace("\x00", ""),))
    seconds = time.perf_counter() - start
    return {"lines_per_second": len(lines) / seconds, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--naive-lines", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--without-read-ahead",
        action="store_true",
        help="also run each round without the crawl's read-ahead, to see its share",
    )
    args = parser.parse_args()

    import os

    setup_django(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    from django.conf import settings

    from logcrawler.models import AlertRule

    AlertRule.objects.update(enabled=False)
    lines = build_lines(args.data, args.lines)
    with tempfile.TemporaryDirectory() as folder:
        # A file source follows only files under LOGCRAWLER_FILE_ROOTS: this process lets
        # it follow the one it writes, wherever the system keeps temporary files.
        settings.LOGCRAWLER_FILE_ROOTS = [*settings.LOGCRAWLER_FILE_ROOTS, folder]
        path = Path(folder) / "loghub.log"
        path.write_text("\n".join(lines) + "\n")
        rounds, plain = [], []
        for _ in range(args.rounds):
            rounds.append(run_ours(path, len(lines)))
            if args.without_read_ahead:
                plain.append(run_ours(path, len(lines), read_ahead=False))
    ours = max(rounds, key=lambda r: r["lines_per_second"])
    naive = run_naive(lines[: args.naive_lines])
    ceiling = max(
        (run_copy(lines) for _ in range(args.rounds)), key=lambda r: r["lines_per_second"]
    )
    empty_tables()

    print(f"lines: {len(lines):,} ({args.data}), batches of {settings.LOGCRAWLER_BATCH_LINES:,}")
    print(
        f"ours (file source -> stored rows): {ours['lines_per_second']:>10,.0f} lines/s "
        f"({ours['seconds']:.2f} s; {ours['entries']:,} entries, "
        f"{ours['fingerprints']:,} fingerprints; rounds: "
        + ", ".join(f"{r['lines_per_second']:,.0f}" for r in rounds)
        + ")"
    )
    if plain:
        print(
            "ours without read-ahead:           "
            f"{max(r['lines_per_second'] for r in plain):>10,.0f} lines/s (rounds: "
            + ", ".join(f"{r['lines_per_second']:,.0f}" for r in plain)
            + ")"
        )
    print(
        f"baseline (naive ORM, per line):    {naive['lines_per_second']:>10,.0f} lines/s "
        f"({args.naive_lines:,} lines in {naive['seconds']:.2f} s)"
    )
    print(f"ceiling (bare COPY of raw lines):  {ceiling['lines_per_second']:>10,.0f} lines/s")
    print(f"goal >= 20,000 lines/s: {'met' if ours['lines_per_second'] >= 20_000 else 'NOT met'}")
    print(
        json.dumps(
            {
                "ours": round(ours["lines_per_second"]),
                "baseline": round(naive["lines_per_second"]),
                "ratio": round(ours["lines_per_second"] / naive["lines_per_second"], 1),
                "ceiling_copy": round(ceiling["lines_per_second"]),
                "share_of_ceiling": round(
                    ours["lines_per_second"] / ceiling["lines_per_second"], 3
                ),
                "lines": len(lines),
                "entries": ours["entries"],
                "fingerprints": ours["fingerprints"],
            }
        )
    )


if __name__ == "__main__":
    main()
