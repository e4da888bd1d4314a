"""Changes to a GitHub repository: built in a folder of their own, published through the
git data API (blobs, a tree, a commit, a ref) and proposed as a draft pull request.

A change's workspace is the base commit's archive unpacked and made a throwaway local
commit (`scratch.py`): the patch or the fix is made there and the repository's tests run
there, on the patched tree. Publishing sends only what was staged before the tests ran:
a blob per changed file (with its mode), one tree on the base's, one commit whose parent is
the base, and a new branch ``juggernaut/fix/...`` (never an existing one moved). Merging
is a fast-forward of the target branch through the refs API, refused when the target
moved since the change was built; GitHub then shows the pull request as merged.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codehealth.errors import MergeRefused, NotInRepository, PatchRefused, RepositoryUnavailable
from codehealth.github import GitHubError, GitHubRepo, PullRequest, TreeEntry, TreeItem
from codehealth.repositories import scratch
from codehealth.repositories.base import ChangeRequest, ChangeWorkspace, CodeHost, check_commit
from codehealth.repositories.github_access import translated
from codehealth.repositories.local import CHANGE_BRANCH_PREFIX, work_dir


def as_change_request(pull: PullRequest) -> ChangeRequest:
    state = "merged" if pull.merged else pull.state
    return ChangeRequest(
        number=pull.number, url=pull.html_url, branch=pull.head_ref, state=state, draft=pull.draft
    )


class GitHubChanges(CodeHost):
    """The writing half of `GitHubHost` (see `github.py` for the reading half)."""

    repo: GitHubRepo
    name: str

    @abstractmethod
    def files(self, commit: str) -> dict[str, TreeEntry]: ...

    @abstractmethod
    def blob(self, sha: str) -> bytes: ...

    @abstractmethod
    def unpack(self, commit: str, root: Path) -> None: ...

    @contextmanager
    def change_workspace(self, base_commit: str) -> Iterator[ChangeWorkspace]:
        root = work_dir("worktrees") / f"change-{uuid.uuid4().hex[:12]}"
        root.mkdir(parents=True)
        try:
            self.unpack(check_commit(base_commit), root)
            scratch.init_base(root)
            yield ChangeWorkspace(root=root, base_commit=base_commit)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def apply_patch(self, workspace: ChangeWorkspace, diff: str) -> None:
        scratch.apply_patch(workspace, diff)

    def check_patch(self, base_commit: str, diff: str) -> None:
        """Applies to the base? Checked on the files the patch reads, fetched at the base
        (not the whole tree: a proposal is answered at once)."""
        files = self.files(check_commit(base_commit))
        wanted = scratch.old_paths(diff)
        missing = [p for p in wanted if p not in files]
        if missing:
            raise PatchRefused(
                f"the patch does not apply: {', '.join(missing[:5])} not at {base_commit[:12]}"
            )
        contents = {path: self.blob(files[path].sha) for path in wanted}
        folder = Path(tempfile.mkdtemp(prefix="check-", dir=work_dir("tmp")))
        try:
            scratch.check_applies(folder, contents, diff)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def workspace_diff(self, workspace: ChangeWorkspace) -> str:
        return scratch.workspace_diff(workspace)

    def publish_change(self, workspace: ChangeWorkspace, *, branch: str, message: str) -> str:
        scratch.check_branch_name(workspace.root, branch, CHANGE_BRANCH_PREFIX)
        staged = scratch.staged_changes(workspace)
        if not staged:
            raise PatchRefused("the change is empty: nothing to publish")
        with translated("publish the change", refused_as_patch=True):
            base = self.repo.commit(workspace.base_commit)
            items = [
                TreeItem(
                    change.path,
                    self.repo.create_blob(change.content) if change.content is not None else None,
                    mode=change.mode or "100644",
                )
                for change in staged
            ]
            tree = self.repo.create_tree(base_tree=base.tree_sha, items=items)
            commit = self.repo.create_commit(message=message, tree=tree, parents=[base.sha])
            try:
                self.repo.create_ref(branch=branch, sha=commit.sha)
            except GitHubError as exc:
                if "already exists" in str(exc).lower():
                    raise PatchRefused(f"branch {branch} exists already on GitHub") from None
                raise
        return commit.sha

    def branch_head(self, branch: str) -> str | None:
        with translated(f"read branch {branch}"):
            return self.repo.branch_sha(branch)

    def fast_forward(self, *, target_branch: str, expected: str, new_head: str) -> None:
        current = self.branch_head(target_branch)
        if current != expected:
            raise MergeRefused(
                f"{target_branch} moved on GitHub since the change was built "
                f"({expected[:12]} → {(current or 'gone')[:12]}); rebuild it on the new base"
            )
        try:
            with translated(f"move {target_branch}", refused_as_patch=True):
                self.repo.update_ref(branch=target_branch, sha=new_head, force=False)
        except (PatchRefused, RepositoryUnavailable) as exc:
            # A protected branch, or it moved in between: GitHub's words, kept on the row.
            raise MergeRefused(
                f"{exc} (merge the pull request on GitHub instead, or rebuild it)"
            ) from None

    def delete_branch(self, branch: str) -> None:
        if not branch.startswith(CHANGE_BRANCH_PREFIX):
            raise PatchRefused(f"change branches start with {CHANGE_BRANCH_PREFIX}: {branch!r}")
        with translated(f"delete branch {branch}"):
            self.repo.delete_branch(branch)

    # --- pull requests --------------------------------------------------------------

    def open_change_requests(self, branch_prefix: str) -> list[ChangeRequest]:
        with translated("list the open pull requests"):
            pulls = self.repo.open_pull_requests(head_prefix=branch_prefix)
        # A fork's pull request may use the same branch name: only ours count.
        return [as_change_request(p) for p in pulls if p.head_repo in ("", self.name)]

    def request_review(
        self, *, branch: str, target_branch: str, title: str, body: str
    ) -> ChangeRequest:
        with translated("open a draft pull request", refused_as_patch=True):
            pull = self.repo.create_draft_pull_request(
                title=title, head=branch, base=target_branch, body=body
            )
        return as_change_request(pull)

    def change_request(self, number: int) -> ChangeRequest | None:
        try:
            with translated(f"read pull request #{number}"):
                return as_change_request(self.repo.pull_request(number))
        except NotInRepository:
            return None

    def close_change_request(self, number: int) -> None:
        with translated(f"close pull request #{number}"):
            self.repo.close_pull_request(number)
