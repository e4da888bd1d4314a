"""Chat's domain errors: `EngineError`s, so the API maps them to their status codes."""

from __future__ import annotations

from engine.services.errors import EngineError


class ChatError(EngineError):
    code = "chat_error"


class SessionNotFound(ChatError):
    status_code = 404
    code = "session_not_found"


class UserNotFound(ChatError):
    status_code = 404
    code = "user_not_found"


class SessionBusy(ChatError):
    """The session is running, queued or waiting for an approval."""

    status_code = 409
    code = "session_busy"


class NothingToRun(ChatError):
    status_code = 409
    code = "nothing_to_run"


class BudgetSpent(NothingToRun):
    """Run on a paused run whose budget is still used up: it would stop again at once."""

    code = "budget_spent"

    def __init__(self, message: str, *, budget: str, used: object, limit: object, field: str):
        super().__init__(message)
        self.budget, self.used, self.limit, self.to_raise = budget, used, limit, field

    @property
    def details(self) -> dict[str, object]:
        return {
            "budget": self.budget,
            "used": self.used,
            "limit": self.limit,
            "raise": self.to_raise,
        }


class InvalidMode(ChatError):
    status_code = 400
    code = "invalid_mode"
