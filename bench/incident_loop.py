"""Benchmark: the closed loop on PostgreSQL, offline provider.

    .venv/bin/python bench/incident_loop.py [--lines 30] [--incidents 1000] [--runs 7]

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/juggernaut_incident_bench) is
created if missing and migrated; the incidents' tables are emptied first.

1. From an error line written to a file source to its incident with a triage: each run
   appends one new error (a traceback into a registered git repository) to the file, then
   does what the schedules and the built-in worker do: the crawl (ingest, fingerprint, the
   new-fingerprint rule, the alert, the incident, its investigation task) and a worker's
   claim and run of that task (the offline triage, reading the frames' code). Printed:
   median and p95 of that processing time. With the default schedules a line waits for
   the next crawl as well (LOGCRAWLER_CRAWL_MINUTES, 5 min; HTTP ingest has no wait) and
   for the worker's poll (under a second).
2. The verifier's pass with N incidents being verified (nothing due, nothing back: the
   steady state, every minute), against the obvious loop (per incident: read its groups,
   compare their last occurrence with the fix). Both read the same rows in the same run.

The last line is one JSON object: {"ours", "baseline", "ratio"} for the verifier pass (ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import median_ms, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/juggernaut_incident_bench"

PRICING = (
    'RATES = {"SE": 0.25}\n\n\ndef price(country, amount):\n    return amount * RATES[country]\n'
)


def error_lines(at: object, n: int) -> str:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")  # type: ignore[attr-defined]
    return (
        f"{stamp} ERROR checkout step {n} failed\n"
        "Traceback (most recent call last):\n"
        f'  File "/srv/shop/shop/step{n}.py", line 3, in run\n'
        "    price(country, amount)\n"
        '  File "/srv/shop/shop/pricing.py", line 5, in price\n'
        "    return amount * RATES[country]\n"
        f"KeyError: 'X{n}'\n"
    )


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE incidents_incident, incidents_incidentevent, logcrawler_alert, "
            "logcrawler_errorfingerprint, logcrawler_logentry, logcrawler_logsource, "
            "codehealth_repository, engine_task, engine_taskevent, engine_worker "
            "RESTART IDENTITY CASCADE"
        )
    from logcrawler.services import reset_fingerprinter_cache

    reset_fingerprinter_cache()


def loop_latency(lines: int, work: Path) -> list[float]:
    from django.conf import settings
    from django.utils import timezone

    from codehealth.models import Repository, RepositoryKind
    from engine.models import Worker
    from engine.worker import WorkerLoop
    from incidents.models import Incident
    from logcrawler.models import AlertRule, LogSource, RuleKind, SourceKind
    from logcrawler.services.crawl import crawl_source

    settings.ROUTING_PROVIDER = "offline"
    settings.LOGCRAWLER_FILE_ROOTS = [str(work)]
    settings.CODEHEALTH_WORK_DIR = work / "codehealth"
    settings.INCIDENTS_MAX_INVESTIGATIONS_PER_HOUR = lines + 1
    repo = work / "shop"
    (repo / "shop").mkdir(parents=True)
    (repo / "shop" / "pricing.py").write_text(PRICING)
    for n in range(lines):
        (repo / "shop" / f"step{n}.py").write_text("\n\ndef run():\n    price(country, amount)\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "add", "-A")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "first")
    Repository.objects.create(name="shop", kind=RepositoryKind.LOCAL, path=str(repo))
    AlertRule.objects.all().delete()
    AlertRule.objects.create(name="new errors", kind=RuleKind.NEW_FINGERPRINT)
    log = work / "shop.log"
    log.write_text("")
    source = LogSource.objects.create(
        name="shop", kind=SourceKind.FILE, settings={"path": str(log), "service": "shop"}
    )
    worker = Worker.objects.create(
        name="bench", capabilities=["incident.investigate"], builtin=True
    )
    loop = WorkerLoop(worker=worker)
    times = []
    for n in range(lines):
        start = time.perf_counter()
        with log.open("a") as out:
            out.write(error_lines(timezone.now(), n))
        crawl_source(source=source)
        loop.run_once(only=["incident.investigate"])
        times.append((time.perf_counter() - start) * 1000)
        incident = Incident.objects.order_by("-id").first()
        if incident is None or not incident.triage:
            from engine.models import Task

            tasks = list(Task.objects.values_list("kind", "state", "last_error"))
            sys.exit(f"line {n}: no incident with a triage; tasks {tasks}")
    return times


def seed_verifying(count: int) -> None:
    from django.utils import timezone

    from incidents.models import Incident, IncidentState
    from logcrawler.models import ErrorFingerprint

    now = timezone.now()
    groups = ErrorFingerprint.objects.bulk_create(
        ErrorFingerprint(
            id=f"bench{n:011d}",
            kind="message",
            template=f"bench error {n}",
            level="ERROR",
            level_no=40,
            first_seen=now - timedelta(days=1),
            last_seen=now - timedelta(hours=2),
            total_count=100,
        )
        for n in range(count)
    )
    incidents = Incident.objects.bulk_create(
        Incident(
            title=f"bench {n}",
            source="logcrawler",
            state=IncidentState.VERIFYING,
            applied_at=now - timedelta(hours=1),
            verify_until=now + timedelta(days=1),
        )
        for n in range(count)
    )
    through = Incident.fingerprints.through
    through.objects.bulk_create(
        through(incident_id=i.pk, errorfingerprint_id=g.pk)
        for i, g in zip(incidents, groups, strict=True)
    )


def naive_pass() -> tuple[list[int], list[int]]:
    """The obvious verifier: each incident's groups read and compared one by one."""
    from django.utils import timezone

    from incidents.models import Incident, IncidentState

    now = timezone.now()
    back, due = [], []
    for incident in Incident.objects.filter(
        state__in=[IncidentState.VERIFYING, IncidentState.VERIFIED]
    ):
        groups = list(incident.fingerprints.all())
        if any(g.last_seen > incident.applied_at for g in groups):
            back.append(incident.pk)
        elif incident.state == IncidentState.VERIFYING and incident.verify_until <= now:
            due.append(incident.pk)
    return back, due


def count_queries(run: object) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()  # type: ignore[operator]
    return len(captured.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=30)
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    import os

    setup_django(os.environ.get("DATABASE_URL", DEFAULT_URL))
    from incidents.services.verification import verify_pass

    reset()
    with tempfile.TemporaryDirectory() as folder:
        times = loop_latency(args.lines, Path(folder))
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"error line -> incident with an offline triage ({args.lines} lines): "
        f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
        "(plus the wait for the next crawl: LOGCRAWLER_CRAWL_MINUTES)"
    )

    reset()
    seed_verifying(args.incidents)
    report = verify_pass()
    assert not (report.verified or report.regressed), report.as_dict()
    assert naive_pass() == ([], [])
    ours = median_ms(verify_pass, runs=args.runs)
    baseline = median_ms(naive_pass, runs=args.runs)
    print(
        f"verifier pass, {args.incidents} incidents being verified: ours {ours:.1f} ms "
        f"({count_queries(verify_pass)} queries), per-incident loop {baseline:.1f} ms "
        f"({count_queries(naive_pass)} queries)"
    )
    print(
        json.dumps(
            {
                "ours": round(ours, 2),
                "baseline": round(baseline, 2),
                "ratio": round(baseline / ours, 2) if ours else None,
            }
        )
    )


if __name__ == "__main__":
    main()
