"""The log crawler's rows: sources, entries, fingerprints, occurrences, rules and alerts."""

from logcrawler.models.alerts import (
    OPEN_ALERT_STATES,
    Alert,
    AlertQuerySet,
    AlertRule,
    AlertState,
    RuleKind,
    Severity,
)
from logcrawler.models.fingerprints import (
    ERROR_LEVEL_NO,
    WARNING_LEVEL_NO,
    ErrorFingerprint,
    ErrorOccurrence,
    FingerprinterState,
    FingerprintKind,
    FingerprintState,
    LogEntry,
)
from logcrawler.models.sources import IngestBatch, LogSource, SourceKind, SourceStatus

__all__ = [
    "ERROR_LEVEL_NO",
    "OPEN_ALERT_STATES",
    "WARNING_LEVEL_NO",
    "Alert",
    "AlertQuerySet",
    "AlertRule",
    "AlertState",
    "ErrorFingerprint",
    "ErrorOccurrence",
    "FingerprintKind",
    "FingerprintState",
    "FingerprinterState",
    "IngestBatch",
    "LogEntry",
    "LogSource",
    "RuleKind",
    "Severity",
    "SourceKind",
    "SourceStatus",
]
