"""The exceptions the GitHub client raises: each carries GitHub's own words.

GitHub answers an error with ``{"message", "documentation_url"}`` (and ``errors`` on a 422);
those are kept on the exception, so that a person reading it sees what GitHub said and where
GitHub documents it. No exception ever holds the token or a request's headers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal


class GitHubError(Exception):
    """GitHub refused or failed a request; `status` is 0 when it was never reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        documentation_url: str = "",
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.message = message
        self.documentation_url = documentation_url
        self.method = method
        self.path = path
        super().__init__(self._text())

    def _text(self) -> str:
        where = f" ({self.method} {self.path})" if self.method else ""
        status = f"GitHub {self.status}" if self.status else "GitHub unreachable"
        doc = f" - see {self.documentation_url}" if self.documentation_url else ""
        return f"{status}{where}: {self.message}{doc}"


class NotFound(GitHubError):
    """404: no such thing, or the token may not see it (GitHub says the same for both)."""


class Forbidden(GitHubError):
    """403 that is not a rate limit: the token lacks a permission, or a feature is off."""


class ValidationFailed(GitHubError):
    """422 ``Validation Failed``: `errors` is GitHub's list (resource, field, code, message)."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]], **kwargs: Any) -> None:
        self.errors = errors
        super().__init__(message, **kwargs)

    def _text(self) -> str:
        fields = [
            ".".join(str(part) for part in (error.get("resource"), error.get("field")) if part)
            + (f" {error['code']}" if error.get("code") else "")
            + (f": {error['message']}" if error.get("message") else "")
            for error in self.errors
        ]
        detail = f" [{'; '.join(fields)}]" if fields else ""
        return super()._text() + detail


class RateLimited(GitHubError):
    """A primary or secondary rate limit that lasts longer than the client may wait."""

    def __init__(
        self,
        message: str,
        *,
        kind: Literal["primary", "secondary"],
        retry_at: datetime,
        wait_seconds: float,
        **kwargs: Any,
    ) -> None:
        self.kind = kind
        self.retry_at = retry_at
        self.wait_seconds = wait_seconds
        super().__init__(message, **kwargs)

    def _text(self) -> str:
        return (
            f"{super()._text()} ({self.kind} rate limit; retry after "
            f"{self.retry_at.isoformat()}, {self.wait_seconds:.0f} s away)"
        )
