"""GitHubClient and GitHubRepo: the one face the rest of Juggernaut uses.

client = GitHubClient(token=token)                 # base_url= for GitHub Enterprise
repo = client.repo("octocat/Hello-World")
sha = repo.ref_sha(repo.repository().default_branch)
tree = repo.tree(sha)                              # tree.truncated says if it is partial
ci = repo.ci_results(sha)                          # ci.capped says if annotations were cut
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from codehealth.github import alerts, ci, compare, reads, sarif, writes
from codehealth.github.cache import ETagCache
from codehealth.github.ratelimit import RateLimitState
from codehealth.github.transport import DEFAULT_BASE_URL, GitHubTransport, TransportStats
from codehealth.github.types import (
    Alerts,
    Artifact,
    CIResults,
    CodeScanningAlert,
    Commit,
    Comparison,
    DependabotAlert,
    FileContent,
    GitRef,
    PullRequest,
    Repository,
    SarifArtifacts,
    Tree,
    TreeItem,
    WorkflowRun,
)


class GitHubClient:
    def __init__(
        self,
        *,
        token: str = "",
        base_url: str = DEFAULT_BASE_URL,
        cache: ETagCache | None = None,
        max_wait: float = 900.0,
        write_interval: float = 1.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = GitHubTransport(
            token=token,
            base_url=base_url,
            cache=cache,
            max_wait=max_wait,
            write_interval=write_interval,
            timeout=timeout,
            clock=clock,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"<GitHubClient {self.http.base_url}>"

    def repo(self, full_name: str) -> GitHubRepo:
        reads.repo_path(full_name)  # refuse a malformed name now, not at the first call
        return GitHubRepo(self.http, full_name)

    @property
    def stats(self) -> TransportStats:
        return self.http.stats

    @property
    def rate_limit(self) -> RateLimitState | None:
        return self.http.rate_limit

    def close(self) -> None:
        self.http.close()


class GitHubRepo:
    """One repository's operations; see the modules it delegates to for the details."""

    def __init__(self, http: GitHubTransport, full_name: str) -> None:
        self.http = http
        self.full_name = full_name

    def __repr__(self) -> str:
        return f"<GitHubRepo {self.full_name}>"

    # reading code
    def repository(self) -> Repository:
        return reads.repository(self.http, self.full_name)

    def commit(self, ref: str) -> Commit:
        return reads.commit(self.http, self.full_name, ref)

    def ref_sha(self, ref: str) -> str:
        return reads.ref_sha(self.http, self.full_name, ref)

    def tree(self, sha: str, *, recursive: bool = True) -> Tree:
        return reads.tree(self.http, self.full_name, sha, recursive=recursive)

    def file(self, path: str, *, ref: str) -> FileContent:
        return reads.file_content(self.http, self.full_name, path, ref=ref)

    def blob(self, sha: str) -> bytes:
        return reads.blob(self.http, self.full_name, sha)

    def archive(self, ref: str, *, max_bytes: int) -> bytes:
        return reads.archive(self.http, self.full_name, ref, max_bytes=max_bytes)

    def compare(self, base: str, head: str) -> Comparison:
        return compare.compare(self.http, self.full_name, base, head)

    def diff(self, base: str, head: str) -> str:
        return compare.diff(self.http, self.full_name, base, head)

    # its own CI
    def workflow_runs(self, sha: str) -> list[WorkflowRun]:
        return ci.workflow_runs(self.http, self.full_name, sha)

    def ci_results(self, sha: str) -> CIResults:
        return ci.ci_results(self.http, self.full_name, sha)

    def artifacts(self, run_id: int) -> list[Artifact]:
        return sarif.artifacts(self.http, self.full_name, run_id)

    def sarif_artifacts(
        self,
        run_id: int,
        *,
        match: str = "sarif",
        max_artifact_bytes: int = sarif.DEFAULT_MAX_ARTIFACT_BYTES,
        max_unzipped_bytes: int = sarif.DEFAULT_MAX_UNZIPPED_BYTES,
    ) -> SarifArtifacts:
        return sarif.sarif_artifacts(
            self.http,
            self.full_name,
            run_id,
            match=match,
            max_artifact_bytes=max_artifact_bytes,
            max_unzipped_bytes=max_unzipped_bytes,
        )

    # alerts
    def dependabot_alerts(self, *, state: str = "open") -> Alerts[DependabotAlert]:
        return alerts.dependabot_alerts(self.http, self.full_name, state=state)

    def code_scanning_alerts(
        self, *, state: str = "open", ref: str | None = None
    ) -> Alerts[CodeScanningAlert]:
        return alerts.code_scanning_alerts(self.http, self.full_name, state=state, ref=ref)

    # writes for a pull request
    def create_blob(self, content: bytes) -> str:
        return writes.create_blob(self.http, self.full_name, content)

    def create_tree(self, *, base_tree: str, items: list[TreeItem]) -> str:
        return writes.create_tree(self.http, self.full_name, base_tree=base_tree, items=items)

    def create_commit(self, *, message: str, tree: str, parents: list[str]) -> Commit:
        return writes.create_commit(
            self.http, self.full_name, message=message, tree=tree, parents=parents
        )

    def commit_files(
        self, *, parent: Commit, files: Mapping[str, bytes | None], message: str
    ) -> Commit:
        return writes.commit_files(
            self.http, self.full_name, parent=parent, files=files, message=message
        )

    def create_ref(self, *, branch: str, sha: str) -> GitRef:
        return writes.create_ref(self.http, self.full_name, branch=branch, sha=sha)

    def update_ref(self, *, branch: str, sha: str, force: bool = False) -> GitRef:
        return writes.update_ref(self.http, self.full_name, branch=branch, sha=sha, force=force)

    def branch_sha(self, branch: str) -> str | None:
        return writes.branch_sha(self.http, self.full_name, branch)

    def delete_branch(self, branch: str) -> bool:
        return writes.delete_branch(self.http, self.full_name, branch)

    def set_branch(self, *, branch: str, sha: str, force: bool = False) -> GitRef:
        return writes.set_branch(self.http, self.full_name, branch=branch, sha=sha, force=force)

    def create_draft_pull_request(
        self, *, title: str, head: str, base: str, body: str = ""
    ) -> PullRequest:
        return writes.create_draft_pull_request(
            self.http, self.full_name, title=title, head=head, base=base, body=body
        )

    def pull_request(self, number: int) -> PullRequest:
        return writes.pull_request(self.http, self.full_name, number)

    def close_pull_request(self, number: int) -> PullRequest:
        return writes.close_pull_request(self.http, self.full_name, number)

    def open_pull_requests(self, *, head_prefix: str = "") -> list[PullRequest]:
        return writes.open_pull_requests(self.http, self.full_name, head_prefix=head_prefix)
