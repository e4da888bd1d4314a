"""How a GitHub repository is reached: its token, its client, GitHub's errors in code
health's words, and a bounded cache of blobs (immutable by their sha).

The token is the repository's own, else the ``GITHUB_TOKEN`` setting. It goes to the
client and nowhere else: never into a log line, an error or a ``repr``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings

from codehealth.errors import NotInRepository, PatchRefused, RepositoryUnavailable
from codehealth.github import (
    GitHubClient,
    GitHubError,
    MemoryETagCache,
    NotFound,
    RateLimited,
    ValidationFailed,
)

if TYPE_CHECKING:
    from codehealth.models import Repository

# One conditional-request cache for every GitHub repository in the process: a rescan
# revalidates what it read before, and GitHub's 304s cost no quota. Keys hold a digest of
# the token, so one token is never answered with what another was shown.
SHARED_CACHE = MemoryETagCache()
# The clock and sleep the clients wait with (rate limits, the write interval): tests
# replace them, so that no test waits in real time.
CLOCK: Callable[[], float] = time.time
SLEEP: Callable[[float], None] = time.sleep


def token_for(repository: Repository) -> str:
    token = repository.token or settings.GITHUB_TOKEN
    if not token:
        raise RepositoryUnavailable(
            f"repository {repository.name}: no GitHub token (give the repository one, "
            "or set GITHUB_TOKEN)"
        )
    return token


def client_for(repository: Repository) -> GitHubClient:
    return GitHubClient(
        token=token_for(repository),
        base_url=settings.GITHUB_API_URL,
        cache=SHARED_CACHE,
        clock=CLOCK,
        sleep=SLEEP,
    )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def web_url(api_url: str) -> str:
    """GitHub's web address for an API address: github.com for api.github.com, and the
    server itself for GitHub Enterprise Server's ``https://HOST/api/v3``."""
    parts = urlsplit(api_url.rstrip("/"))
    if parts.netloc == "api.github.com":
        return "https://github.com"
    path = parts.path.removesuffix("/api/v3")
    return f"{parts.scheme}://{parts.netloc}{path}"


@contextmanager
def translated(action: str, *, refused_as_patch: bool = False) -> Iterator[None]:
    """GitHub's errors as code health's: 404 is "not in the repository", a 422 on a write
    refuses the change (with GitHub's words), everything else (rate limits past their
    wait, 401, 5xx, GitHub unreachable) makes the repository unavailable for now."""
    try:
        yield
    except NotFound as exc:
        raise NotInRepository(f"{action}: {exc}") from None
    except ValidationFailed as exc:
        if refused_as_patch:
            raise PatchRefused(f"GitHub refused to {action}: {exc}") from None
        raise RepositoryUnavailable(f"{action}: {exc}") from None
    except RateLimited as exc:
        raise RepositoryUnavailable(f"{action}: {exc}") from None
    except GitHubError as exc:
        raise RepositoryUnavailable(f"{action}: {exc}") from None


class BlobCache:
    """Blob bytes by (token digest, repository, sha), least recently used out past a size."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._bytes = 0
        self._items: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str], content: bytes) -> None:
        if len(content) > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = content
            self._bytes += len(content)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)


SHARED_BLOBS = BlobCache()
