"""The incidents app's errors; the API answers each with its status code (config/api)."""

from __future__ import annotations

from engine.services.errors import EngineError


class IncidentError(EngineError):
    code = "incident_error"


class IncidentNotFound(IncidentError):
    status_code = 404
    code = "not_found"


class InvalidTransition(IncidentError):
    status_code = 409
    code = "invalid_transition"


class NotAllowed(IncidentError):
    status_code = 403
    code = "permission_denied"
