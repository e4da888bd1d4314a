"""Reading a repository at a commit: the repository, commits and refs, trees, file contents."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal
from urllib.parse import quote

from codehealth.github.errors import GitHubError
from codehealth.github.transport import GitHubTransport
from codehealth.github.types import Commit, FileContent, Repository, Tree, TreeEntry

SHA_MEDIA_TYPE = "application/vnd.github.sha"


def repo_path(full_name: str) -> str:
    owner, _, name = full_name.partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"a repository is named owner/name, not {full_name!r}")
    return f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _ref(ref: str) -> str:
    return quote(ref, safe="/")


def parse_commit(data: dict[str, Any]) -> Commit:
    # The commits API nests the git commit under "commit"; the git data API does not.
    nested = data.get("commit")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else data
    return Commit(
        sha=data["sha"],
        tree_sha=inner["tree"]["sha"],
        message=inner.get("message") or "",
        parents=tuple(parent["sha"] for parent in data.get("parents") or ()),
        html_url=data.get("html_url") or "",
    )


def repository(http: GitHubTransport, full_name: str) -> Repository:
    data = http.json("GET", repo_path(full_name))
    return Repository(
        full_name=data["full_name"],
        default_branch=data["default_branch"],
        private=bool(data.get("private")),
        archived=bool(data.get("archived")),
        html_url=data.get("html_url") or "",
    )


def commit(http: GitHubTransport, full_name: str, ref: str) -> Commit:
    """The commit a branch, tag or sha names."""
    return parse_commit(http.json("GET", f"{repo_path(full_name)}/commits/{_ref(ref)}"))


def ref_sha(http: GitHubTransport, full_name: str, ref: str) -> str:
    """Only the sha a branch, tag or sha names: GitHub's sha media type, a 40-byte answer."""
    answer = http.request(
        "GET", f"{repo_path(full_name)}/commits/{_ref(ref)}", accept=SHA_MEDIA_TYPE
    )
    sha = answer.body.decode().strip()
    if len(sha) != 40:
        raise GitHubError(f"expected a commit sha, got {sha[:60]!r}", status=answer.status)
    return sha


def tree(http: GitHubTransport, full_name: str, sha: str, *, recursive: bool = True) -> Tree:
    """The tree of a commit (or tree) sha; `truncated` says GitHub left entries out."""
    params = {"recursive": "1"} if recursive else None
    data = http.json("GET", f"{repo_path(full_name)}/git/trees/{_ref(sha)}", params=params)
    return Tree(
        sha=data["sha"],
        entries=tuple(
            TreeEntry(
                path=entry["path"],
                mode=entry["mode"],
                type=entry["type"],
                sha=entry["sha"],
                size=entry.get("size"),
            )
            for entry in data.get("tree") or ()
        ),
        truncated=bool(data.get("truncated")),
    )


def _decode(data: dict[str, Any], *, what: str) -> bytes:
    if data.get("encoding") != "base64":
        raise GitHubError(f"{what} came as {data.get('encoding')!r}, not base64")
    try:
        return base64.b64decode(data.get("content") or "")
    except (binascii.Error, ValueError):
        raise GitHubError(f"{what} is not valid base64") from None


def archive(http: GitHubTransport, full_name: str, ref: str, *, max_bytes: int) -> bytes:
    """The tree at `ref` as a gzipped tar (one folder ``owner-name-sha`` at the top).

    GitHub answers with a 302 to its archive host and a signed, short-lived URL, which is
    fetched without the token. Files marked ``export-ignore`` in ``.gitattributes`` are
    left out of the archive, as ``git archive`` leaves them out.
    """
    return http.download(f"{repo_path(full_name)}/tarball/{_ref(ref)}", max_bytes=max_bytes)


def blob(http: GitHubTransport, full_name: str, sha: str) -> bytes:
    """A blob's bytes (up to 100 MB), by its sha."""
    data = http.json("GET", f"{repo_path(full_name)}/git/blobs/{_ref(sha)}")
    return _decode(data, what=f"blob {sha}")


def file_content(http: GitHubTransport, full_name: str, path: str, *, ref: str) -> FileContent:
    """A file at a commit. The contents API inlines files up to 1 MB; past that its
    ``content`` is empty (``encoding: none``) and the bytes come from the blob API."""
    data = http.json(
        "GET",
        f"{repo_path(full_name)}/contents/{quote(path.strip('/'), safe='/')}",
        params={"ref": ref},
    )
    if not isinstance(data, dict) or data.get("type") != "file":
        kind = "a directory" if isinstance(data, list) else repr(data.get("type"))
        raise GitHubError(f"{path} at {ref} is {kind}, not a file")
    source: Literal["contents", "blob"] = "contents"
    if data.get("encoding") == "base64" and (data.get("content") or data.get("size") == 0):
        content = _decode(data, what=path)
    else:
        content, source = blob(http, full_name, data["sha"]), "blob"
    return FileContent(
        path=data["path"],
        sha=data["sha"],
        size=int(data.get("size") or len(content)),
        content=content,
        source=source,
    )
