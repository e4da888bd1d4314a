"""What the fake GitHub answers with: GitHub's example bodies, its errors and its limits."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github"
TOKEN = "ghp_FAKEfakeFAKEfake0123456789abcdefABCD"
REPO = "octocat/Hello-World"
DOCS = "https://docs.github.com/rest"
LIMITS_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"


def example(name: str) -> Any:
    """A fresh copy of one of GitHub's example bodies."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324 - git's


def object_id(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()  # noqa: S324 - an object id


def wrapped_base64(content: bytes) -> str:
    """Base64 as the contents API sends it: a newline every 60 characters."""
    text = base64.b64encode(content).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


@dataclass
class Recorded:
    method: str
    path: str  # with the query
    headers: dict[str, str]
    body: Any


@dataclass
class Scripted:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    path: str = ""  # answers only a request whose path contains this
    method: str = ""  # ... and, when given, only one of this method


@dataclass
class FakeCommit:
    sha: str
    tree: str
    message: str
    parents: list[str]


def primary_limit(*, reset: int, status: int = 403, path: str = "") -> Scripted:
    return Scripted(
        status,
        {
            "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub "
            "Support for help, please include the request ID 0000:1111:2222:3333:4444.",
            "documentation_url": f"{LIMITS_DOCS}#primary-rate-limit",
            "status": str(status),
        },
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
        path,
    )


def secondary_limit(*, retry_after: int | None, path: str = "", method: str = "") -> Scripted:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return Scripted(
        403,
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again. If you reach out to GitHub Support for help, please include "
            "the request ID 0000:1111:2222:3333:4444.",
            "documentation_url": f"{LIMITS_DOCS}#about-secondary-rate-limits",
            "status": "403",
        },
        headers,
        path,
        method,
    )


def validation_failed(
    errors: list[dict[str, Any]], *, path: str = "", method: str = ""
) -> Scripted:
    return Scripted(
        422,
        {
            "message": "Validation Failed",
            "errors": errors,
            "documentation_url": DOCS,
            "status": "422",
        },
        path=path,
        method=method,
    )


def error(status: int, message: str, documentation_url: str = DOCS) -> Scripted:
    return Scripted(
        status, {"message": message, "documentation_url": documentation_url, "status": str(status)}
    )


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()
