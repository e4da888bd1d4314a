"""The log crawler's domain errors; the API maps them to their status codes."""

from __future__ import annotations

from engine.services.errors import EngineError


class LogcrawlerError(EngineError):
    status_code = 400
    code = "logcrawler_error"


class FingerprintNotFound(LogcrawlerError):
    status_code = 404
    code = "fingerprint_not_found"


class SourceNotFound(LogcrawlerError):
    status_code = 404
    code = "source_not_found"


class InvalidStateChange(LogcrawlerError):
    status_code = 409
    code = "invalid_state_change"


class NotAllowed(LogcrawlerError):
    """The user lacks the permission this change needs (docs/security.md)."""

    status_code = 403
    code = "not_allowed"
