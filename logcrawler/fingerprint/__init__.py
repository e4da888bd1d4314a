"""Error fingerprints: parse log entries, mask their variable parts, group them stably.

Pure Python with no Django import, so that sources, the ingest path, commands and the
benchmark (``bench/fingerprint.py``) all use the same code.
"""

from logcrawler.fingerprint.access import AccessLine, parse_access_line, route_shape
from logcrawler.fingerprint.fingerprinter import ErrorFingerprinter
from logcrawler.fingerprint.groups import (
    KIND_HTTP,
    KIND_MESSAGE,
    KIND_TRACEBACK,
    FingerprintResult,
    GroupState,
    TemplateGroup,
)
from logcrawler.fingerprint.masking import WILDCARD, TokenMasker, mask_message
from logcrawler.fingerprint.parse import (
    ParsedEntry,
    make_entry,
    normalise_level,
    parse_line,
    parse_timestamp,
)
from logcrawler.fingerprint.stacktrace import Frame, Traceback, parse_traceback

__all__ = [
    "KIND_HTTP",
    "KIND_MESSAGE",
    "KIND_TRACEBACK",
    "WILDCARD",
    "AccessLine",
    "ErrorFingerprinter",
    "FingerprintResult",
    "Frame",
    "GroupState",
    "ParsedEntry",
    "TemplateGroup",
    "TokenMasker",
    "Traceback",
    "make_entry",
    "mask_message",
    "normalise_level",
    "parse_access_line",
    "parse_line",
    "parse_timestamp",
    "parse_traceback",
    "route_shape",
]
