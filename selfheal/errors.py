"""Self-heal's domain errors. They extend the engine's, so the API's exception handler
answers each with its status code."""

from __future__ import annotations

from engine.services.errors import EngineError


class SelfhealError(EngineError):
    code = "selfheal_error"


class AlreadyRunning(SelfhealError):
    """A second run of a playbook while one runs: refused, not queued."""

    status_code = 409
    code = "already_running"


class RepairNotAllowed(SelfhealError):
    """Repairs, auto-heal and reverts change the system; this user may only diagnose."""

    status_code = 403
    code = "repair_not_allowed"


class ExecutionNotFound(SelfhealError):
    status_code = 404
    code = "execution_not_found"


class NotRevertible(SelfhealError):
    status_code = 409
    code = "not_revertible"


class UnknownPlaybook(SelfhealError):
    status_code = 400
    code = "unknown_playbook"


class BoundExceeded(SelfhealError):
    """A playbook tried to change more rows than its bound: a bug, stopped before it acts."""

    status_code = 409
    code = "bound_exceeded"
