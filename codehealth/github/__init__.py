"""A client for GitHub's REST API (version 2022-11-28), as code health needs it.

Why a thin layer over `requests` and not githubkit or PyGithub: both were tried against what
this client must do (pinned API version, ETag revalidation with a bounded cache, rate limits
waited out under an injectable clock, writes one at a time, an artifact redirect fetched
without the token, "no access" alerts as a result).

- githubkit 0.16.1 (generated from GitHub's OpenAPI description) failed on import in a fresh
  environment: its requirements allow hishel 2.0.0, which no longer has the names it
  imports; it worked with hishel pinned below 2. Its generated schemas (56 MB, pinned to API
  version 2026-03-10; 2022-11-28 is a second package of the same size) took mypy --strict 51
  s and 860 MB on this 2-core machine, so they would have to be skipped, leaving the typed
  methods as Any. Its retry sleeps with `time.sleep` and reads the wall clock, so the waits
  need our own loop anyway; its default cache is process-wide, unbounded, and keyed without
  the token. What would remain of it is an httpx client and an auth header.
- PyGithub 2.10 has no conditional cache for lists or contents (only `update()` of an object
  it already holds), loads attributes lazily with requests nobody asked for, and follows a
  302 by keeping the API's host, which is wrong for an artifact's storage URL.

So the transport (`transport.py`) does those rules itself, in ~350 lines that tests drive
against a fake GitHub, with `requests` (already a dependency). Results are frozen
dataclasses (`types.py`); errors are `GitHubError` and its kinds (`errors.py`).
"""

from codehealth.github.cache import CachedAnswer, ETagCache, MemoryETagCache
from codehealth.github.client import GitHubClient, GitHubRepo
from codehealth.github.errors import (
    Forbidden,
    GitHubError,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from codehealth.github.ratelimit import RateLimitState
from codehealth.github.transport import API_VERSION, DEFAULT_BASE_URL, GitHubTransport
from codehealth.github.types import (
    Alerts,
    Annotation,
    Artifact,
    CheckRun,
    CheckRunAnnotations,
    CIResults,
    CodeScanningAlert,
    Commit,
    ComparedFile,
    Comparison,
    DependabotAlert,
    FileContent,
    GitRef,
    PullRequest,
    Repository,
    SarifArtifacts,
    SarifFile,
    SarifResult,
    SarifRun,
    SkippedArtifact,
    Tree,
    TreeEntry,
    TreeItem,
    WorkflowRun,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "Alerts",
    "Annotation",
    "Artifact",
    "CIResults",
    "CachedAnswer",
    "CheckRun",
    "CheckRunAnnotations",
    "CodeScanningAlert",
    "Commit",
    "ComparedFile",
    "Comparison",
    "DependabotAlert",
    "ETagCache",
    "FileContent",
    "Forbidden",
    "GitHubClient",
    "GitHubError",
    "GitHubRepo",
    "GitHubTransport",
    "GitRef",
    "MemoryETagCache",
    "NotFound",
    "PullRequest",
    "RateLimitState",
    "RateLimited",
    "Repository",
    "SarifArtifacts",
    "SarifFile",
    "SarifResult",
    "SarifRun",
    "SkippedArtifact",
    "Tree",
    "TreeEntry",
    "TreeItem",
    "ValidationFailed",
    "WorkflowRun",
]
