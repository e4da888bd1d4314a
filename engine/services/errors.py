"""Domain errors. Each carries the HTTP status an API face should answer with."""

from __future__ import annotations


class EngineError(Exception):
    status_code = 400
    code = "engine_error"
    field = ""  # the input field at fault, when one is

    @property
    def details(self) -> dict[str, object]:
        """Fields an API answer carries beside `detail` and `code` (a subclass's)."""
        return {}


class TaskNotFound(EngineError):
    status_code = 404
    code = "task_not_found"


class WorkerNotFound(EngineError):
    status_code = 404
    code = "worker_not_found"


class LeaseConflict(EngineError):
    """The worker does not hold the lease on this task (anymore)."""

    status_code = 409
    code = "lease_conflict"


class InvalidTransition(EngineError):
    status_code = 409
    code = "invalid_transition"


class WorkerUnavailable(EngineError):
    """An offline or draining worker asked for work."""

    status_code = 409
    code = "worker_unavailable"


class TaskChanged(EngineError):
    """A restore found the task no longer as it was left: someone changed it since."""

    status_code = 409
    code = "task_changed"


class WorkerNameTaken(EngineError):
    """The name belongs to a built-in worker (which runs in-process and takes no token) or
    to another user's worker."""

    status_code = 409
    code = "worker_name_taken"
    field = "name"


class NotAllowed(EngineError):
    """The user may not take this decision (someone else's task)."""

    status_code = 403
    code = "not_allowed"
