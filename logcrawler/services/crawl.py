"""Crawling a pulled source: its adapter's batches into the ingest pipeline, the outcome
on the source row (last crawl, lines read, last error, rate limit)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from engine.services import job_lock
from logcrawler.errors import SourceNotFound
from logcrawler.models import LogSource, SourceStatus
from logcrawler.services.alerts import EvaluationReport
from logcrawler.services.ingest import ingest_entries
from logcrawler.sources import RateLimited, SourceError, adapter_for
from logcrawler.sources.readahead import read_ahead
from routing.redaction import redact_text

log = logging.getLogger(__name__)

MAX_DETAIL_CHARS = 500


@dataclass(frozen=True)
class CrawlReport:
    source: str
    lines: int
    status: str
    detail: str
    skipped: bool = False
    alerts: EvaluationReport = field(default_factory=EvaluationReport)

    def line(self) -> str:
        if self.skipped:
            return f"{self.source}: skipped ({self.detail})"
        return f"{self.source}: {self.lines} entries stored, {self.status}" + (
            f" ({self.detail})" if self.detail else ""
        )


def crawl_lock_name(source: LogSource) -> str:
    return f"logcrawler.crawl:{source.pk}"


def _record(
    source: LogSource,
    *,
    now: datetime,
    lines: int,
    status: SourceStatus,
    detail: str,
    error: str = "",
    retry_after: datetime | None = None,
    alerts: EvaluationReport | None = None,
) -> CrawlReport:
    # Providers' words end up here (Railway's errors, file system messages): the shared
    # redaction keeps a token an upstream echoed off the page, the API and the admin.
    detail, error = redact_text(detail)[:MAX_DETAIL_CHARS], redact_text(error)
    fields = {
        "last_crawl_at": now,
        "last_crawl_lines": lines,
        "status": status,
        "status_detail": detail,
        "last_error": error,
        "retry_after": retry_after,
    }
    if status == SourceStatus.OK:
        fields["last_success_at"] = now
    LogSource.objects.filter(pk=source.pk).update(**fields)
    for name, value in fields.items():
        setattr(source, name, value)
    return CrawlReport(source.name, lines, status, detail, alerts=alerts or EvaluationReport())


def crawl_source(*, source: LogSource, now: datetime | None = None) -> CrawlReport:
    """Read what arrived since the source's cursor; the outcome is kept on the row.

    Whatever went wrong is said with its reason, in the status detail (page, API, the
    command's output) and the last error: a source that cannot be read, or the parts of one
    that could not be read while the rest was stored.
    """
    now = now or timezone.now()
    adapter = adapter_for(source, now=now)
    lines = 0
    alerts = EvaluationReport()
    try:
        for batch in read_ahead(adapter.batches()):
            result = ingest_entries(source=source, entries=batch.entries, cursor=batch.cursor)
            source.cursor = batch.cursor
            lines += result.stored
            alerts.merge(result.alerts)
    except RateLimited as exc:
        until = now + timedelta(seconds=exc.retry_after_seconds)
        detail = f"{exc}; next crawl after {until:%H:%M:%S} UTC"
        return _record(
            source,
            now=now,
            lines=lines,
            status=SourceStatus.RATE_LIMITED,
            detail=detail,
            error=str(exc),
            retry_after=until,
            alerts=alerts,
        )
    except SourceError as exc:
        reason = str(exc) or type(exc).__name__
        return _record(
            source,
            now=now,
            lines=lines,
            status=SourceStatus.ERROR,
            detail="; ".join([reason, *adapter.notes.failures, *adapter.notes.notes]),
            error="; ".join([reason, *adapter.notes.failures]),
            alerts=alerts,
        )
    notes = "; ".join(adapter.notes.notes)
    if adapter.notes.failures:
        failed = "; ".join(adapter.notes.failures)
        return _record(
            source,
            now=now,
            lines=lines,
            status=SourceStatus.ERROR,
            detail=f"could not read {failed}" + (f"; {notes}" if notes else ""),
            error=failed,
            alerts=alerts,
        )
    return _record(
        source, now=now, lines=lines, status=SourceStatus.OK, detail=notes, alerts=alerts
    )


def crawl_source_once(*, source: LogSource, now: datetime | None = None) -> CrawlReport:
    """`crawl_source` unless a crawl of this source is already running, or it is rate limited."""
    now = now or timezone.now()
    if source.retry_after and source.retry_after > now:
        return CrawlReport(
            source.name,
            0,
            source.status,
            f"rate limited until {source.retry_after:%H:%M:%S} UTC",
            skipped=True,
        )
    ttl = int(settings.Q_CLUSTER.get("timeout", 120)) + 60
    with job_lock(crawl_lock_name(source), ttl_seconds=ttl) as acquired:
        if not acquired:
            return CrawlReport(source.name, 0, source.status, "a crawl is running", skipped=True)
        return crawl_source(source=source, now=now)


def crawl_sources(*, name: str = "", now: datetime | None = None) -> list[CrawlReport]:
    """Crawl every enabled pulled source, or only the one named (enabled or not)."""
    sources = list(LogSource.objects.filter(name=name) if name else LogSource.objects.crawlable())
    if name and not sources:
        raise SourceNotFound(f"no log source is named {name!r}")
    return [_crawl_isolated(source=source, now=now) for source in sources]


def _crawl_isolated(*, source: LogSource, now: datetime | None) -> CrawlReport:
    """One source's crawl, whatever it raises: a broken source must not stop the others, and
    its error is kept on its row for the page and the API."""
    try:
        return crawl_source_once(source=source, now=now)
    except Exception as exc:  # the loop's boundary: record it, go on
        log.exception("logcrawler: crawling %s failed", source.name)
        error = redact_text(f"{type(exc).__name__}: {exc}")[:2000]
        detail = f"failed: {error}"[:MAX_DETAIL_CHARS]
        LogSource.objects.filter(pk=source.pk).update(
            status=SourceStatus.ERROR, last_error=error, status_detail=detail
        )
        return CrawlReport(source.name, 0, SourceStatus.ERROR, detail)
