"""The log crawler's domain functions; views, API, jobs, commands and tools call these."""

from logcrawler.services.alerts import (
    EvaluationReport,
    alert_on_fingerprints,
    evaluate_alert_rules,
)
from logcrawler.services.crawl import CrawlReport, crawl_source, crawl_source_once, crawl_sources
from logcrawler.services.entries import search_entries
from logcrawler.services.fingerprints import (
    ACTIONS,
    check_may_crawl,
    may_change_state,
    set_fingerprint_state,
)
from logcrawler.services.http_ingest import IngestReply, ingest_batch, ingest_source
from logcrawler.services.ingest import IngestResult, ingest_entries
from logcrawler.services.maintenance import PruneReport, prune_logs
from logcrawler.services.store import reset_fingerprinter_cache

__all__ = [
    "ACTIONS",
    "CrawlReport",
    "EvaluationReport",
    "IngestReply",
    "IngestResult",
    "PruneReport",
    "alert_on_fingerprints",
    "check_may_crawl",
    "crawl_source",
    "crawl_source_once",
    "crawl_sources",
    "evaluate_alert_rules",
    "ingest_batch",
    "ingest_entries",
    "ingest_source",
    "may_change_state",
    "prune_logs",
    "reset_fingerprinter_cache",
    "search_entries",
    "set_fingerprint_state",
]
