"""What the GitHub client returns: plain frozen dataclasses, read from GitHub's JSON.

Only the fields Juggernaut uses are kept; anything GitHub may omit or null has a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

# GitHub Actions keeps at most 50 annotations per job (and 10 of each level per step) and
# drops the rest without a word: a job that reached 50 may have said more.
ACTIONS_ANNOTATIONS_PER_JOB = 50
# A comparison lists at most this many changed files.
COMPARE_MAX_FILES = 300


@dataclass(frozen=True)
class Repository:
    full_name: str
    default_branch: str
    private: bool
    archived: bool
    html_url: str


@dataclass(frozen=True)
class Commit:
    sha: str
    tree_sha: str
    message: str
    parents: tuple[str, ...]
    html_url: str = ""


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    type: str  # blob, tree or commit (a submodule)
    sha: str
    size: int | None = None


@dataclass(frozen=True)
class Tree:
    sha: str
    entries: tuple[TreeEntry, ...]
    # GitHub cuts a recursive tree past 100,000 entries or 7 MB; the list is then partial.
    truncated: bool


@dataclass(frozen=True)
class FileContent:
    path: str
    sha: str
    size: int
    content: bytes
    source: Literal["contents", "blob"]  # files over 1 MB come from the blob API

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class WorkflowRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    event: str
    html_url: str
    run_attempt: int = 1


@dataclass(frozen=True)
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    app_slug: str
    html_url: str
    annotations_count: int


@dataclass(frozen=True)
class Annotation:
    path: str
    start_line: int
    end_line: int
    level: str  # notice, warning or failure
    message: str
    title: str = ""
    raw_details: str = ""


@dataclass(frozen=True)
class CheckRunAnnotations:
    check_run: CheckRun
    annotations: tuple[Annotation, ...]
    capped: bool  # GitHub may have dropped some: `cap_reason` says why we think so
    cap_reason: str = ""


@dataclass(frozen=True)
class CIResults:
    """What the repository's own CI said about one commit."""

    sha: str
    workflow_runs: tuple[WorkflowRun, ...]
    check_runs: tuple[CheckRunAnnotations, ...]

    @property
    def capped(self) -> bool:
        return any(run.capped for run in self.check_runs)

    @property
    def annotations(self) -> tuple[Annotation, ...]:
        return tuple(note for run in self.check_runs for note in run.annotations)


@dataclass(frozen=True)
class Artifact:
    id: int
    name: str
    size_in_bytes: int
    expired: bool
    workflow_run_id: int | None = None


@dataclass(frozen=True)
class SarifResult:
    rule_id: str
    level: str  # SARIF's: error, warning, note or none
    message: str
    path: str
    start_line: int | None
    end_line: int | None


@dataclass(frozen=True)
class SarifRun:
    tool_name: str
    tool_version: str
    results: tuple[SarifResult, ...]


@dataclass(frozen=True)
class SarifFile:
    artifact: Artifact
    name: str  # the file's name inside the artifact's zip
    runs: tuple[SarifRun, ...]
    log: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@dataclass(frozen=True)
class SkippedArtifact:
    artifact: Artifact
    reason: str


@dataclass(frozen=True)
class SarifArtifacts:
    files: tuple[SarifFile, ...]
    skipped: tuple[SkippedArtifact, ...]


@dataclass(frozen=True)
class DependabotAlert:
    number: int
    state: str
    ecosystem: str
    package: str
    manifest_path: str
    severity: str
    ghsa_id: str
    cve_id: str | None
    summary: str
    vulnerable_version_range: str
    first_patched_version: str | None
    html_url: str


@dataclass(frozen=True)
class CodeScanningAlert:
    number: int
    state: str
    rule_id: str
    rule_severity: str | None
    security_severity: str | None
    description: str
    tool_name: str
    tool_version: str | None
    path: str
    start_line: int | None
    end_line: int | None
    message: str
    html_url: str


@dataclass(frozen=True)
class Alerts(Generic[T]):
    """Alerts when the token may read them; otherwise `available` is False and `reason` says
    what GitHub answered (a scan shows "no access", never "no alerts")."""

    available: bool
    alerts: tuple[T, ...] = ()
    reason: str = ""
    status: int = 200


@dataclass(frozen=True)
class GitRef:
    ref: str  # refs/heads/<branch>
    sha: str


@dataclass(frozen=True)
class TreeItem:
    """One path in a tree to create: a blob's sha, or None to delete the path."""

    path: str
    sha: str | None
    mode: str = "100644"


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    state: str  # open or closed (a merged one is closed, with `merged`)
    draft: bool
    head_ref: str
    head_sha: str
    base_ref: str
    html_url: str
    merged: bool = False
    head_repo: str = ""  # owner/name the head branch lives in (a fork's, for a fork's PR)


@dataclass(frozen=True)
class ComparedFile:
    filename: str
    status: str  # added, removed, modified, renamed, copied, changed or unchanged
    previous_filename: str | None = None
    # The hunks of the change; None for a binary file or one too large for GitHub to show.
    patch: str | None = None


@dataclass(frozen=True)
class Comparison:
    """``base...head``: how head relates to base, and the files that differ."""

    status: str  # identical, ahead, behind or diverged
    ahead_by: int
    behind_by: int
    merge_base: str
    files: tuple[ComparedFile, ...]

    @property
    def files_may_be_cut(self) -> bool:
        # GitHub lists at most 300 changed files in a comparison, without saying it cut.
        return len(self.files) >= COMPARE_MAX_FILES
