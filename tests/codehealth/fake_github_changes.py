"""The fake GitHub's routes for a repository kind: archives, comparisons, branches, pull
requests. A mixin over `RepositoryRoutes`, answering as GitHub does:

- ``GET /tarball/{ref}``: a 302 to the archive host (the fake artifact host), whose gzipped
  tar holds one folder ``octocat-Hello-World-<sha7>`` as GitHub's does;
- ``GET /compare/{base}...{head}``: status, ahead/behind, the merge base, and the files with
  their ``patch`` hunks (renames detected by an unchanged blob); with the diff media type,
  the unified diff as git prints it;
- ``GET /git/ref/heads/{branch}`` (404 when missing), ``DELETE /git/refs/heads/{branch}``
  (204, or 422 "Reference does not exist"); deleting an open pull request's head closes it;
- ``GET`` and ``PATCH /pulls/{number}``; a base branch moved onto a pull request's head
  marks it merged, as GitHub does after a push.
"""

from __future__ import annotations

import difflib
import io
import tarfile
from collections import deque
from typing import Any

from tests.codehealth.fake_github_replies import REPO, Recorded, Scripted, error, example
from tests.codehealth.fake_github_routes import RepositoryRoutes

DIFF_MEDIA_TYPE = "application/vnd.github.diff"


class ChangeRoutes(RepositoryRoutes):
    artifact_host: Any
    dependabot: list[dict[str, Any]]
    code_scanning: list[dict[str, Any]]

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            *super()._routes(),
            (r"/tarball/(.+)", "GET", self._tarball),
            (r"/compare/(.+)\.\.\.(.+)", "GET", self._compare),
            (r"/git/ref/heads/(.+)", "GET", self._get_ref),
            (r"/git/refs/heads/(.+)", "DELETE", self._delete_ref),
            (r"/pulls/(\d+)", "GET", self._get_pull),
            (r"/pulls/(\d+)", "PATCH", self._patch_pull),
        ]

    # --- reading ----------------------------------------------------------------------
    def files_at(self, sha: str) -> dict[str, bytes]:
        entries = self.trees[self.commits[self._resolve(sha)].tree]
        return {path: self.blobs[blob] for path, blob in entries.items()}

    def _tarball(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], ref: str
    ) -> Scripted:
        sha = self._resolve(ref)
        top = f"{REPO.replace('/', '-')}-{sha[:7]}"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path, content in sorted(self.files_at(sha).items()):
                member = tarfile.TarInfo(f"{top}/{path}")
                member.size, member.mode = len(content), 0o644
                archive.addfile(member, io.BytesIO(content))
        url = self.artifact_host.publish(f"{top}.tar.gz", buffer.getvalue())
        return Scripted(302, b"", {"Location": url, "Content-Type": "text/html;charset=utf-8"})

    def _ancestors(self, sha: str) -> list[str]:
        seen: list[str] = []
        todo = deque([sha])
        while todo:
            current = todo.popleft()
            if current not in seen:
                seen.append(current)
                todo.extend(self.commits[current].parents)
        return seen

    def _compared_files(self, base: str, head: str) -> list[dict[str, Any]]:
        old = self.trees[self.commits[base].tree]
        new = self.trees[self.commits[head].tree]
        gone = {path: blob for path, blob in old.items() if path not in new}
        rows = []
        for path in sorted(set(old) | set(new)):
            if path in new and path not in old:
                moved_from = next((p for p, b in gone.items() if b == new[path]), None)
                if moved_from is not None:
                    gone.pop(moved_from)
                    rows.append(self._file_row(path, "renamed", moved_from, new[path], new[path]))
                else:
                    rows.append(self._file_row(path, "added", None, None, new[path]))
            elif path in old and path in new and old[path] != new[path]:
                rows.append(self._file_row(path, "modified", None, old[path], new[path]))
        rows += [self._file_row(p, "removed", None, b, None) for p, b in sorted(gone.items())]
        return rows

    def _lines(self, blob: str | None) -> list[str] | None:
        content = self.blobs[blob] if blob else b""
        if b"\0" in content:
            return None
        return content.decode().splitlines(keepends=True)

    def _hunks(self, old: str | None, new: str | None) -> str | None:
        before, after = self._lines(old), self._lines(new)
        if before is None or after is None:
            return None  # GitHub shows no patch for a binary file
        lines = list(difflib.unified_diff(before, after, n=3))[2:]
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def _file_row(
        self, path: str, status: str, previous: str | None, old: str | None, new: str | None
    ) -> dict[str, Any]:
        row = dict(example("commit-comparison")["files"][0])
        patch = self._hunks(old, new)
        added = sum(1 for line in (patch or "").splitlines() if line.startswith("+"))
        removed = sum(1 for line in (patch or "").splitlines() if line.startswith("-"))
        row.update(
            sha=new or old,
            filename=path,
            status=status,
            additions=added,
            deletions=removed,
            changes=added + removed,
        )
        if previous is not None:
            row["previous_filename"] = previous
        if patch:
            row["patch"] = patch.rstrip("\n")
        else:
            row.pop("patch", None)
        return row

    def _compare(
        self,
        request: Recorded,
        query: dict[str, str],
        lowered: dict[str, str],
        base_ref: str,
        head_ref: str,
    ) -> Scripted:
        base, head = self._resolve(base_ref), self._resolve(head_ref)
        if lowered.get("accept", "").startswith(DIFF_MEDIA_TYPE):
            text = self._unified_diff(base, head)
            return Scripted(200, text, {"Content-Type": "text/plain; charset=utf-8"})
        head_history, base_history = self._ancestors(head), self._ancestors(base)
        merge_base = next(sha for sha in head_history if sha in base_history)
        ahead = len([s for s in head_history if s not in base_history])
        behind = len([s for s in base_history if s not in head_history])
        status = (
            "identical"
            if base == head
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        body = example("commit-comparison")
        body.update(status=status, ahead_by=ahead, behind_by=behind, total_commits=ahead)
        body["base_commit"]["sha"] = base
        body["merge_base_commit"]["sha"] = merge_base
        body["files"] = self._compared_files(merge_base, head)
        return Scripted(200, body)

    def _unified_diff(self, base: str, head: str) -> str:
        old = self.trees[self.commits[base].tree]
        new = self.trees[self.commits[head].tree]
        parts = []
        for row in self._compared_files(base, head):
            path, status = row["filename"], row["status"]
            before = row.get("previous_filename", path)
            parts.append(f"diff --git a/{before} b/{path}\n")
            if status == "renamed":
                parts.append(f"similarity index 100%\nrename from {before}\nrename to {path}\n")
                continue
            old_blob, new_blob = old.get(path), new.get(path)
            if status == "added":
                parts.append("new file mode 100644\n")
            elif status == "removed":
                parts.append("deleted file mode 100644\n")
            parts.append(
                f"index {(old_blob or '0' * 7)[:7]}..{(new_blob or '0' * 7)[:7]}"
                + (" 100644\n" if status == "modified" else "\n")
            )
            parts.append(f"--- {'a/' + path if old_blob else '/dev/null'}\n")
            parts.append(f"+++ {'b/' + path if new_blob else '/dev/null'}\n")
            parts.append(self._hunks(old_blob, new_blob) or "")
        return "".join(parts)

    # --- branches ---------------------------------------------------------------------
    def _get_ref(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], branch: str
    ) -> Scripted:
        if branch not in self.refs:
            return error(404, "Not Found")
        return Scripted(200, self._ref_body(branch))

    def _delete_ref(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], branch: str
    ) -> Scripted:
        if branch not in self.refs:
            return error(422, "Reference does not exist")
        del self.refs[branch]
        for pull in self.pulls:
            if pull["head"]["ref"] == branch and pull["state"] == "open":
                pull["state"] = "closed"
        return Scripted(204, None)

    def _update_ref(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], branch: str
    ) -> Scripted:
        reply = super()._update_ref(request, query, lowered, branch)
        if reply.status == 200:
            history = self._ancestors(self.refs[branch])
            for pull in self.pulls:
                if (
                    pull["state"] == "open"
                    and pull["base"]["ref"] == branch
                    and pull["head"]["sha"] in history
                ):
                    pull.update(state="closed", merged_at="2030-01-01T00:00:00Z")
        return reply

    # --- pull requests ----------------------------------------------------------------
    def _pull(self, number: str) -> dict[str, Any]:
        return next(p for p in self.pulls if p["number"] == int(number))

    def _full_pull(self, listed: dict[str, Any]) -> dict[str, Any]:
        body = example("pull-request")
        body.update(
            number=listed["number"],
            title=listed["title"],
            state=listed["state"],
            draft=listed["draft"],
            merged=bool(listed.get("merged_at")),
            merged_at=listed.get("merged_at"),
            html_url=listed["html_url"],
        )
        body["head"].update(ref=listed["head"]["ref"], sha=listed["head"]["sha"])
        body["base"].update(ref=listed["base"]["ref"], sha=listed["base"]["sha"])
        return body

    def _get_pull(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], number: str
    ) -> Scripted:
        try:
            return Scripted(200, self._full_pull(self._pull(number)))
        except StopIteration:
            return error(404, "Not Found")

    def _patch_pull(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], number: str
    ) -> Scripted:
        try:
            pull = self._pull(number)
        except StopIteration:
            return error(404, "Not Found")
        if request.body.get("state") in ("open", "closed"):
            pull["state"] = request.body["state"]
        return Scripted(200, self._full_pull(pull))
