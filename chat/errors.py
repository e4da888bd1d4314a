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


class InvalidMode(ChatError):
    status_code = 400
    code = "invalid_mode"
