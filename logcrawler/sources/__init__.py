"""Log sources: one shape (`SourceAdapter`), a registry, and a cursor per source.

Importing this package registers the built-in kinds: railway, file, http.
"""

from logcrawler.sources import file, http, railway
from logcrawler.sources.base import (
    Batch,
    CrawlNotes,
    RateLimited,
    SourceAdapter,
    SourceError,
    adapter_class,
    adapter_for,
    register_source_kind,
    registered_kinds,
)

__all__ = [
    "Batch",
    "CrawlNotes",
    "RateLimited",
    "SourceAdapter",
    "SourceError",
    "adapter_class",
    "adapter_for",
    "file",
    "http",
    "railway",
    "register_source_kind",
    "registered_kinds",
]
