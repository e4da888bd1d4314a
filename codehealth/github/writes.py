"""The writes behind a pull request: git data (blob, tree, commit, ref) and draft PRs.

Every write goes through the transport's write gate: one at a time per token, a second
apart, as GitHub asks of integrations to stay under its secondary limits.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from codehealth.github.errors import NotFound, ValidationFailed
from codehealth.github.reads import parse_commit, repo_path
from codehealth.github.transport import GitHubTransport
from codehealth.github.types import Commit, GitRef, PullRequest, TreeItem


def _pull_request(data: dict[str, Any]) -> PullRequest:
    # A single pull request says `merged`; the list items only `merged_at`.
    merged = data.get("merged")
    return PullRequest(
        number=int(data["number"]),
        title=data.get("title") or "",
        state=data.get("state") or "",
        draft=bool(data.get("draft")),
        head_ref=data["head"]["ref"],
        head_sha=data["head"]["sha"],
        base_ref=data["base"]["ref"],
        html_url=data.get("html_url") or "",
        merged=bool(merged) if merged is not None else bool(data.get("merged_at")),
        head_repo=((data["head"].get("repo") or {}).get("full_name")) or "",
    )


def _git_ref(data: dict[str, Any]) -> GitRef:
    return GitRef(ref=data["ref"], sha=data["object"]["sha"])


def create_blob(http: GitHubTransport, full_name: str, content: bytes) -> str:
    body = {"content": base64.b64encode(content).decode(), "encoding": "base64"}
    return str(http.json("POST", f"{repo_path(full_name)}/git/blobs", body=body)["sha"])


def create_tree(
    http: GitHubTransport, full_name: str, *, base_tree: str, items: list[TreeItem]
) -> str:
    """A tree that is `base_tree` with `items` put in (or, with `sha=None`, taken out)."""
    tree = [
        {"path": item.path, "mode": item.mode, "type": "blob", "sha": item.sha} for item in items
    ]
    body = {"base_tree": base_tree, "tree": tree}
    return str(http.json("POST", f"{repo_path(full_name)}/git/trees", body=body)["sha"])


def create_commit(
    http: GitHubTransport, full_name: str, *, message: str, tree: str, parents: list[str]
) -> Commit:
    body = {"message": message, "tree": tree, "parents": parents}
    return parse_commit(http.json("POST", f"{repo_path(full_name)}/git/commits", body=body))


def commit_files(
    http: GitHubTransport,
    full_name: str,
    *,
    parent: Commit,
    files: Mapping[str, bytes | None],
    message: str,
) -> Commit:
    """One commit on top of `parent` that writes `files` (None deletes a path)."""
    items = [
        TreeItem(path, create_blob(http, full_name, content) if content is not None else None)
        for path, content in sorted(files.items())
    ]
    tree = create_tree(http, full_name, base_tree=parent.tree_sha, items=items)
    return create_commit(http, full_name, message=message, tree=tree, parents=[parent.sha])


def create_ref(http: GitHubTransport, full_name: str, *, branch: str, sha: str) -> GitRef:
    body = {"ref": f"refs/heads/{branch}", "sha": sha}
    return _git_ref(http.json("POST", f"{repo_path(full_name)}/git/refs", body=body))


def update_ref(
    http: GitHubTransport, full_name: str, *, branch: str, sha: str, force: bool = False
) -> GitRef:
    """Move a branch; without `force` GitHub refuses (422) a move that is no fast-forward."""
    return _git_ref(
        http.json("PATCH", _heads(full_name, branch), body={"sha": sha, "force": force})
    )


def _heads(full_name: str, branch: str) -> str:
    return f"{repo_path(full_name)}/git/refs/heads/{quote(branch, safe='/')}"


def branch_sha(http: GitHubTransport, full_name: str, branch: str) -> str | None:
    """The commit a branch points at, or None when there is no such branch."""
    path = f"{repo_path(full_name)}/git/ref/heads/{quote(branch, safe='/')}"
    try:
        return _git_ref(http.json("GET", path)).sha
    except NotFound:
        return None


def delete_branch(http: GitHubTransport, full_name: str, branch: str) -> bool:
    """Delete a branch; False when it was gone already (GitHub's 422)."""
    try:
        http.request("DELETE", _heads(full_name, branch))
    except ValidationFailed as exc:
        if "does not exist" not in exc.message.lower():
            raise
        return False
    return True


def set_branch(
    http: GitHubTransport, full_name: str, *, branch: str, sha: str, force: bool = False
) -> GitRef:
    """Create the branch at `sha`, or move it there when it exists already."""
    try:
        return create_ref(http, full_name, branch=branch, sha=sha)
    except ValidationFailed as exc:
        if "already exists" not in exc.message.lower():
            raise
    return update_ref(http, full_name, branch=branch, sha=sha, force=force)


def create_draft_pull_request(
    http: GitHubTransport, full_name: str, *, title: str, head: str, base: str, body: str = ""
) -> PullRequest:
    payload = {"title": title, "head": head, "base": base, "body": body, "draft": True}
    return _pull_request(http.json("POST", f"{repo_path(full_name)}/pulls", body=payload))


def pull_request(http: GitHubTransport, full_name: str, number: int) -> PullRequest:
    return _pull_request(http.json("GET", f"{repo_path(full_name)}/pulls/{int(number)}"))


def close_pull_request(http: GitHubTransport, full_name: str, number: int) -> PullRequest:
    path = f"{repo_path(full_name)}/pulls/{int(number)}"
    return _pull_request(http.json("PATCH", path, body={"state": "closed"}))


def open_pull_requests(
    http: GitHubTransport, full_name: str, *, head_prefix: str = ""
) -> list[PullRequest]:
    """Open pull requests whose head branch starts with `head_prefix`.

    GitHub's own ``head`` filter matches one exact ``owner:branch``, so the prefix is applied
    here, over every page.
    """
    rows = http.items(f"{repo_path(full_name)}/pulls", params={"state": "open"})
    pulls = [_pull_request(row) for row in rows]
    return [pull for pull in pulls if pull.head_ref.startswith(head_prefix)]
