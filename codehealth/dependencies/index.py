"""The newest release of a package, from PyPI's JSON API and the npm registry.

``GET {CODEHEALTH_PYPI_URL}/pypi/<name>/json`` (``info.version``) and
``GET {CODEHEALTH_NPM_URL}/<name>`` in npm's abbreviated form (``dist-tags.latest``). Each
answer is cached on disk with its ``ETag`` for ``CODEHEALTH_INDEX_CACHE_SECONDS``; after
that the question is asked again with ``If-None-Match`` (a 304 keeps the cached answer).
An index that cannot be reached is asked nothing more in this scan (offline, a scan must
not wait a timeout per package), and what it could not answer is said, never guessed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from codehealth.dependencies.manifests import NPM, PYPI

NPM_ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"


class IndexUnreachable(Exception):
    """The index did not answer (connection refused, DNS, timeout) or answered an error."""


@dataclass(frozen=True)
class Release:
    """The newest release of a package, or None for a package the index does not know."""

    version: str | None
    fetched_at: float  # when the index said so (epoch seconds)


@dataclass(frozen=True)
class IndexSettings:
    pypi_url: str
    npm_url: str
    timeout: float
    cache_seconds: int
    cache_dir: Path

    def base(self, ecosystem: str) -> str:
        return (self.pypi_url if ecosystem == PYPI else self.npm_url).rstrip("/")


class PackageIndex:
    def __init__(self, config: IndexSettings) -> None:
        self.config = config
        self.unreachable: dict[str, str] = {}  # ecosystem -> why
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "juggernaut-codehealth"

    def url(self, ecosystem: str, name: str) -> str:
        base = self.config.base(ecosystem)
        if ecosystem == PYPI:
            return f"{base}/pypi/{quote(name, safe='')}/json"
        return f"{base}/{quote(name, safe='@')}"  # @scope%2Fname, as npm expects

    def _cache_file(self, ecosystem: str, name: str) -> Path:
        return self.config.cache_dir / ecosystem / f"{quote(name, safe='')}.json"

    def _cached(self, path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _keep(self, path: Path, data: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))

    def latest(self, ecosystem: str, name: str) -> Release:
        """The newest release; raises `IndexUnreachable` when the index cannot say."""
        if not self.config.base(ecosystem):
            raise IndexUnreachable(f"no {ecosystem} index is configured")
        if ecosystem in self.unreachable:
            raise IndexUnreachable(self.unreachable[ecosystem])
        path = self._cache_file(ecosystem, name)
        cached = self._cached(path)
        now = time.time()
        if cached is not None and now - float(cached.get("fetched_at", 0)) < max(
            self.config.cache_seconds, 0
        ):
            return Release(cached.get("version"), float(cached["fetched_at"]))
        headers = {"Accept": NPM_ABBREVIATED if ecosystem == NPM else "application/json"}
        if cached is not None and cached.get("etag"):
            headers["If-None-Match"] = str(cached["etag"])
        try:
            response = self.session.get(
                self.url(ecosystem, name), headers=headers, timeout=self.config.timeout
            )
        except requests.RequestException as exc:
            self.unreachable[ecosystem] = f"{ecosystem} index unreachable ({type(exc).__name__})"
            raise IndexUnreachable(self.unreachable[ecosystem]) from exc
        if response.status_code == 304 and cached is not None:
            cached["fetched_at"] = now
            self._keep(path, cached)
            return Release(cached.get("version"), now)
        if response.status_code == 404:
            version = None
        elif response.status_code == 200:
            version = self._version(ecosystem, response)
        else:
            why = f"{ecosystem} index answered {response.status_code}"
            if response.status_code == 429 or response.status_code >= 500:
                self.unreachable[ecosystem] = why  # overloaded or down: ask it no more now
            raise IndexUnreachable(why)
        self._keep(
            path, {"version": version, "etag": response.headers.get("ETag"), "fetched_at": now}
        )
        return Release(version, now)

    def _version(self, ecosystem: str, response: requests.Response) -> str | None:
        try:
            data = response.json()
            if ecosystem == PYPI:
                return str(data["info"]["version"]) or None
            return str(data["dist-tags"]["latest"]) or None
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexUnreachable(f"{ecosystem} index answered an unreadable body") from exc

    def close(self) -> None:
        self.session.close()
