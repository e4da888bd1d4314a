"""The periodic jobs: crawl (never twice at once), evaluate, prune; their schedules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string

from engine.services.locks import acquire_job_lock
from logcrawler import jobs
from logcrawler.models import (
    ErrorFingerprint,
    ErrorOccurrence,
    IngestBatch,
    LogEntry,
    LogSource,
    SourceKind,
)
from logcrawler.schedules import SCHEDULES
from logcrawler.services import prune_logs
from logcrawler.services.crawl import crawl_lock_name
from tests.logcrawler.helpers import entry, ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_rules")]


def test_the_schedules_name_real_functions() -> None:
    names = {spec["name"]: spec for spec in SCHEDULES}

    assert set(names) == {"logcrawler.crawl", "logcrawler.evaluate_alerts", "logcrawler.prune"}
    assert names["logcrawler.crawl"]["minutes"] == 5
    assert names["logcrawler.prune"]["minutes"] == 1440
    for spec in SCHEDULES:
        assert callable(import_string(spec["func"]))


def test_a_source_being_crawled_is_not_crawled_again(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("ERROR a\n")
    busy = LogSource.objects.create(name="busy", kind=SourceKind.FILE, settings={"path": str(log)})
    free = LogSource.objects.create(name="free", kind=SourceKind.FILE, settings={"path": str(log)})
    assert acquire_job_lock(crawl_lock_name(busy), ttl_seconds=60)

    result = jobs.crawl_all_sources()

    assert "busy: skipped (a crawl is running)" in result["sources"]
    assert "free: 1 entries stored, ok" in result["sources"]
    busy.refresh_from_db()
    free.refresh_from_db()
    assert (busy.lines_read, free.lines_read) == (0, 1)


def test_the_crawl_job_does_not_overlap_itself() -> None:
    assert acquire_job_lock(jobs.CRAWL_LOCK, ttl_seconds=60)

    assert "skipped" in jobs.crawl_all_sources()


def test_evaluate_and_prune_jobs_run() -> None:
    assert jobs.evaluate_alerts() == {"opened": [], "fired": [], "resolved": []}
    assert jobs.prune() == {"entries": 0, "occurrences": 0, "batches": 0}


def test_prune_drops_old_entries_counts_and_keys_but_keeps_fingerprints() -> None:
    now = timezone.now()
    ingest(entry("old failure", at=now - timedelta(days=20)), entry("new failure", at=now), now=now)
    source = LogSource.objects.create(name="http", kind=SourceKind.HTTP)
    IngestBatch.objects.create(source=source, key="k-old", created_at=now - timedelta(days=2))
    IngestBatch.objects.create(source=source, key="k-new", created_at=now)

    report = prune_logs(now=now, retention_days=14)

    assert (report.entries, report.occurrences, report.batches) == (1, 1, 1)
    assert list(LogEntry.objects.values_list("message", flat=True)) == ["new failure"]
    assert ErrorOccurrence.objects.count() == 1
    assert ErrorFingerprint.objects.count() == 2  # both fingerprints stay


def test_an_unexpected_error_in_one_source_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from logcrawler.models import SourceStatus
    from logcrawler.services import crawl as crawl_module
    from logcrawler.services import crawl_sources
    from tests.logcrawler.helpers import file_source

    broken = file_source(tmp_path / "broken.log")
    healthy_path = tmp_path / "ok.log"
    healthy_path.write_text("2025-06-02T12:00:00Z ERROR api: boom 1\n")
    healthy = file_source(healthy_path)
    real = crawl_module.crawl_source

    def crawl_or_explode(*, source, now=None):
        if source.pk == broken.pk:
            raise RuntimeError("disk on fire")
        return real(source=source, now=now)

    monkeypatch.setattr(crawl_module, "crawl_source", crawl_or_explode)

    reports = {report.source: report for report in crawl_sources()}

    broken.refresh_from_db()
    healthy.refresh_from_db()
    assert broken.status == SourceStatus.ERROR and "disk on fire" in broken.last_error
    assert healthy.lines_read == 1
    assert "failed" in reports[broken.name].detail
