"""A file given on the command line, read through a file source of its own."""

from __future__ import annotations

from pathlib import Path

from logcrawler.models import LogSource, SourceKind
from logcrawler.services.crawl import CrawlReport, crawl_source_once

NAME_CHARS = 100


def source_name_for(path: Path) -> str:
    name = f"file:{path}"
    return name if len(name) <= NAME_CHARS else "file:…" + str(path)[-(NAME_CHARS - 6) :]


def file_source_for(*, path: Path, service: str = "", follow: bool = False) -> CrawlReport:
    """Crawl ``path`` through its file source (created on first use); only new lines after
    the first time."""
    source, _ = LogSource.objects.get_or_create(
        name=source_name_for(path),
        defaults={"kind": SourceKind.FILE, "settings": {"path": str(path)}, "enabled": follow},
    )
    wanted = {"path": str(path), **({"service": service} if service else {})}
    if {**source.settings, **wanted} != source.settings or source.enabled != follow:
        source.settings = {**source.settings, **wanted}
        source.enabled = follow or source.enabled
        source.save(update_fields=["settings", "enabled"])
    report = crawl_source_once(source=source)
    if report.status == "error":
        source.refresh_from_db(fields=["last_error"])
        return CrawlReport(report.source, report.lines, report.status, source.last_error)
    return report
