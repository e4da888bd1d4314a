"""What travels: an answer from GitHub, the token's header, and GitHub's errors read back.

Kept apart from the transport's rules so that each file says one thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import parse_header_links

from codehealth.github.errors import Forbidden, GitHubError, NotFound, ValidationFailed


@dataclass(frozen=True)
class Answer:
    """One answer from GitHub (or from the cache, after GitHub's 304 said it still holds)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    from_cache: bool = False

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def next_url(self) -> str | None:
        for link in parse_header_links(self.headers.get("link", "")):
            if link.get("rel") == "next" and link.get("url"):
                return link["url"]
        return None


class TokenAuth(requests.auth.AuthBase):
    """Puts the token on a request; requests drops it by itself on a redirect off the host.

    Being an auth object also stops requests from reading ~/.netrc over the token.
    """

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}" if token else ""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._header:
            request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "<token>"


class NoCredentials(requests.auth.AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def shown(url: str) -> str:
    """A URL fit for a log line or an error: no query on foreign hosts (signed URLs)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def error_words(answer: Answer) -> tuple[str, str, list[dict[str, Any]]]:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return answer.body[:200].decode(errors="replace") or f"HTTP {answer.status}", "", []
    errors = body.get("errors")
    return (
        str(body.get("message") or f"HTTP {answer.status}"),
        str(body.get("documentation_url") or ""),
        [e if isinstance(e, dict) else {"message": str(e)} for e in errors]
        if isinstance(errors, list)
        else [],
    )


def error_for(answer: Answer, *, method: str) -> GitHubError:
    message, documentation_url, errors = error_words(answer)
    where: dict[str, Any] = {
        "status": answer.status,
        "documentation_url": documentation_url,
        "method": method,
        "path": shown(answer.url),
    }
    if answer.status == 404:
        return NotFound(message, **where)
    if answer.status == 403:
        return Forbidden(message, **where)
    if answer.status == 422:
        return ValidationFailed(message, errors=errors, **where)
    return GitHubError(message, **where)
