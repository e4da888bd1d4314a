"""Two commits compared: how they relate, which files differ, and the unified diff."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from codehealth.github.reads import repo_path
from codehealth.github.transport import GitHubTransport
from codehealth.github.types import ComparedFile, Comparison

DIFF_MEDIA_TYPE = "application/vnd.github.diff"


def _basehead(base: str, head: str) -> str:
    return f"{quote(base, safe='/')}...{quote(head, safe='/')}"


def _file(data: dict[str, Any]) -> ComparedFile:
    return ComparedFile(
        filename=data["filename"],
        status=data.get("status") or "",
        previous_filename=data.get("previous_filename"),
        patch=data.get("patch"),
    )


def compare(http: GitHubTransport, full_name: str, base: str, head: str) -> Comparison:
    """``base...head``. Asked without paging parameters, so that the files come (GitHub
    lists them on the first page only, at most 300)."""
    data = http.json("GET", f"{repo_path(full_name)}/compare/{_basehead(base, head)}")
    return Comparison(
        status=data.get("status") or "",
        ahead_by=int(data.get("ahead_by") or 0),
        behind_by=int(data.get("behind_by") or 0),
        merge_base=(data.get("merge_base_commit") or {}).get("sha") or "",
        files=tuple(_file(row) for row in data.get("files") or ()),
    )


def diff(http: GitHubTransport, full_name: str, base: str, head: str) -> str:
    """The unified diff from base to head, as git prints it (GitHub's diff media type)."""
    answer = http.request(
        "GET", f"{repo_path(full_name)}/compare/{_basehead(base, head)}", accept=DIFF_MEDIA_TYPE
    )
    return answer.body.decode("utf-8", errors="replace")
