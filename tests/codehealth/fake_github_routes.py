"""The fake GitHub's routes: one repository's reads and writes, as GitHub answers them.

A mixin of `FakeGitHub` (its data lives there); each handler returns a `Scripted` answer.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from tests.codehealth.fake_github_replies import (
    REPO,
    FakeCommit,
    Recorded,
    Scripted,
    error,
    example,
    git_blob_sha,
    object_id,
    validation_failed,
    wrapped_base64,
)


class RepositoryRoutes:
    # FakeGitHub's state, which these routes read and change.
    prefix: str
    head: str
    tree_truncated: bool
    blobs: dict[str, bytes]
    trees: dict[str, dict[str, str]]
    commits: dict[str, FakeCommit]
    refs: dict[str, str]
    workflow_runs: list[dict[str, Any]]
    check_runs: list[dict[str, Any]]
    annotations: dict[int, list[dict[str, Any]]]
    artifacts: dict[int, list[dict[str, Any]]]
    artifact_urls: dict[int, str]
    dependabot: list[dict[str, Any]]
    dependabot_denial: Scripted | None
    code_scanning: list[dict[str, Any]]
    code_scanning_denial: Scripted | None
    pulls: list[dict[str, Any]]

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def _tree(self, entries: dict[str, str]) -> str:
        raise NotImplementedError

    def _route(self, request: Recorded, lowered: dict[str, str]) -> Scripted:
        parts = urlsplit(request.path)
        path = unquote(parts.path).removeprefix(self.prefix)
        query = dict(parse_qsl(parts.query))
        repo = f"/repos/{REPO}"
        if not path.startswith(repo):
            return error(404, "Not Found")
        rest = path.removeprefix(repo)
        for pattern, method, handler in self._routes():
            match = re.fullmatch(pattern, rest)
            if match and method == request.method:
                return handler(request, query, lowered, *match.groups())
        return error(404, "Not Found")

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            (r"", "GET", self._repository),
            (r"/commits/([^/]+)", "GET", self._commit),
            (r"/commits/([^/]+)/check-runs", "GET", self._check_runs),
            (r"/git/trees/([^/]+)", "GET", self._get_tree),
            (r"/git/blobs/([^/]+)", "GET", self._get_blob),
            (r"/contents/(.*)", "GET", self._contents),
            (r"/actions/runs", "GET", self._workflow_runs),
            (r"/check-runs/(\d+)/annotations", "GET", self._annotations),
            (r"/actions/runs/(\d+)/artifacts", "GET", self._artifacts),
            (r"/actions/artifacts/(\d+)/zip", "GET", self._artifact_zip),
            (r"/dependabot/alerts", "GET", self._dependabot),
            (r"/code-scanning/alerts", "GET", self._code_scanning),
            (r"/pulls", "GET", self._list_pulls),
            (r"/git/blobs", "POST", self._create_blob),
            (r"/git/trees", "POST", self._create_tree),
            (r"/git/commits", "POST", self._create_commit),
            (r"/git/refs", "POST", self._create_ref),
            (r"/git/refs/heads/(.+)", "PATCH", self._update_ref),
            (r"/pulls", "POST", self._create_pull),
        ]

    def _page(
        self, rows: list[Any], request: Recorded, query: dict[str, str]
    ) -> tuple[list[Any], dict[str, str]]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        last = max((len(rows) + per_page - 1) // per_page, 1)
        base = f"{self.base_url}{urlsplit(request.path).path.removeprefix(self.prefix)}"

        def link(number: int, rel: str) -> str:
            return f'<{base}?{urlencode({**query, "page": number})}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links.append(link(1, "first"))
        headers = {"Link": ", ".join(links)} if links else {}
        return rows[(page - 1) * per_page : page * per_page], headers

    def _resolve(self, ref: str) -> str:
        sha = self.refs.get(ref.removeprefix("heads/"), ref)
        if sha not in self.commits:
            raise LookupError(ref)
        return sha

    def _repository(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        body = example("full-repository-default-response")
        body.update(full_name=REPO, default_branch="master")
        return Scripted(200, body)

    def _commit(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], ref: str
    ) -> Scripted:
        try:
            sha = self._resolve(ref)
        except LookupError:
            return error(422, f"No commit found for SHA: {ref}")
        if lowered.get("accept", "").startswith("application/vnd.github.sha"):
            return Scripted(200, sha, {"Content-Type": "application/vnd.github.sha; charset=utf-8"})
        found = self.commits[sha]
        body = example("commit")
        body["sha"] = sha
        body["commit"]["tree"]["sha"] = found.tree
        body["commit"]["message"] = found.message
        body["parents"] = [{"sha": parent, "url": "", "html_url": ""} for parent in found.parents]
        return Scripted(200, body)

    def _get_tree(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], sha: str
    ) -> Scripted:
        tree_sha = self.commits[sha].tree if sha in self.commits else sha
        entries = self.trees[tree_sha]
        recursive = bool(query.get("recursive"))
        template = example("git-tree-response-recursively-retrieving-a-tree")
        item = template["tree"][0]
        listed = []
        folders = {
            "/".join(p.split("/")[:depth]) for p in entries for depth in range(1, p.count("/") + 1)
        }
        for folder in sorted(f for f in folders if recursive or "/" not in f):
            inside = {
                p.removeprefix(f"{folder}/"): b
                for p, b in entries.items()
                if p.startswith(f"{folder}/")
            }
            listed.append(
                {
                    **item,
                    "path": folder,
                    "mode": "040000",
                    "type": "tree",
                    "sha": self._tree(inside),
                }
            )
            listed[-1].pop("size", None)
        for path, blob in sorted(entries.items()):
            if recursive or "/" not in path:
                listed.append({**item, "path": path, "sha": blob, "size": len(self.blobs[blob])})
        truncated = recursive and self.tree_truncated
        if truncated:  # GitHub sends part of the listing and says so
            listed = listed[: max(len(listed) // 2, 1)]
        template.update(sha=tree_sha, tree=listed, truncated=truncated)
        return Scripted(200, template)

    def _get_blob(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], sha: str
    ) -> Scripted:
        content = self.blobs[sha]
        body = example("blob")
        body.update(sha=sha, size=len(content), content=wrapped_base64(content))
        return Scripted(200, body)

    def _contents(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], path: str
    ) -> Scripted:
        entries = self.trees[self.commits[self._resolve(query.get("ref", "master"))].tree]
        if path not in entries:
            inside = [p for p in entries if p.startswith(path.rstrip("/") + "/")]
            if not inside:
                return error(404, "Not Found")
            template = example("content-file-response-if-content-is-a-directory")[0]
            return Scripted(
                200,
                [
                    {**template, "path": p, "name": p.rsplit("/", 1)[-1], "sha": entries[p]}
                    for p in inside
                ],
            )
        content = self.blobs[entries[path]]
        body = example("content-file-response-if-content-is-a-file")
        body.update(path=path, name=path.rsplit("/", 1)[-1], sha=entries[path], size=len(content))
        if len(content) > 1024 * 1024:  # GitHub stops inlining files past 1 MB
            body.update(content="", encoding="none")
        else:
            body.update(content=wrapped_base64(content), encoding="base64")
        return Scripted(200, body)

    def _workflow_runs(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        rows = [
            r for r in self.workflow_runs if r["head_sha"] == query.get("head_sha", r["head_sha"])
        ]
        page, headers = self._page(rows, request, query)
        return Scripted(200, {"total_count": len(rows), "workflow_runs": page}, headers)

    def _check_runs(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], ref: str
    ) -> Scripted:
        sha = self._resolve(ref)
        rows = [r for r in self.check_runs if r["head_sha"] == sha]
        page, headers = self._page(rows, request, query)
        return Scripted(200, {"total_count": len(rows), "check_runs": page}, headers)

    def _annotations(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], run_id: str
    ) -> Scripted:
        page, headers = self._page(self.annotations[int(run_id)], request, query)
        return Scripted(200, page, headers)

    def _artifacts(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], run_id: str
    ) -> Scripted:
        rows = self.artifacts.get(int(run_id), [])
        page, headers = self._page(rows, request, query)
        return Scripted(200, {"total_count": len(rows), "artifacts": page}, headers)

    def _artifact_zip(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], artifact_id: str
    ) -> Scripted:
        return Scripted(302, b"", {"Location": self.artifact_urls[int(artifact_id)]})

    def _dependabot(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        if self.dependabot_denial is not None:
            return self.dependabot_denial
        states = query.get("state", "auto_dismissed,dismissed,fixed,open").split(",")
        rows = [a for a in self.dependabot if a["state"] in states]
        page, headers = self._page(rows, request, query)
        return Scripted(200, page, headers)

    def _code_scanning(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        if self.code_scanning_denial is not None:
            return self.code_scanning_denial
        rows = [a for a in self.code_scanning if a["state"] == query.get("state", a["state"])]
        page, headers = self._page(rows, request, query)
        return Scripted(200, page, headers)

    def _list_pulls(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        rows = [p for p in self.pulls if p["state"] == query.get("state", "open")]
        page, headers = self._page(rows, request, query)
        return Scripted(200, page, headers)

    # --- writes ---------------------------------------------------------------------
    def _create_blob(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        content = base64.b64decode(request.body["content"])
        sha = git_blob_sha(content)
        self.blobs[sha] = content
        body = example("short-blob")
        body.update(sha=sha, url=f"{self.base_url}/repos/{REPO}/git/blobs/{sha}")
        return Scripted(201, body, {"Location": body["url"]})

    def _create_tree(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        base = request.body.get("base_tree")
        if base is not None and base not in self.trees:
            return validation_failed(
                [{"resource": "Tree", "field": "base_tree", "code": "invalid"}]
            )
        entries = dict(self.trees.get(base, {}))
        for item in request.body["tree"]:
            if item.get("sha") is None:
                entries.pop(item["path"], None)
            elif item["sha"] not in self.blobs:
                return validation_failed(
                    [{"resource": "Tree", "field": "sha", "code": "invalid", "value": item["sha"]}]
                )
            else:
                entries[item["path"]] = item["sha"]
        sha = self._tree(entries)
        body = example("git-tree")
        body.update(sha=sha, truncated=False)
        return Scripted(201, body)

    def _create_commit(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        tree, parents, message = (
            request.body["tree"],
            request.body.get("parents", []),
            request.body["message"],
        )
        if tree not in self.trees or any(p not in self.commits for p in parents):
            return validation_failed([{"resource": "Commit", "field": "tree", "code": "invalid"}])
        sha = object_id("commit", tree, message, *parents)
        self.commits[sha] = FakeCommit(sha, tree, message, list(parents))
        body = example("git-commit")
        body.update(sha=sha, message=message)
        body["tree"]["sha"] = tree
        body["parents"] = [{"sha": p, "url": "", "html_url": ""} for p in parents]
        return Scripted(201, body)

    def _ref_body(self, branch: str) -> dict[str, Any]:
        body = example("git-ref")
        body["ref"] = f"refs/heads/{branch}"
        body["object"]["sha"] = self.refs[branch]
        return body

    def _create_ref(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        branch = request.body["ref"].removeprefix("refs/heads/")
        if branch in self.refs:
            return error(422, "Reference already exists")
        if request.body["sha"] not in self.commits:
            return error(422, "Object does not exist")
        self.refs[branch] = request.body["sha"]
        return Scripted(201, self._ref_body(branch))

    def _descends(self, sha: str, ancestor: str) -> bool:
        todo = [sha]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            todo += self.commits[current].parents
        return False

    def _update_ref(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str], branch: str
    ) -> Scripted:
        if branch not in self.refs:
            return error(422, "Reference does not exist")
        sha = request.body["sha"]
        if not request.body.get("force") and not self._descends(sha, self.refs[branch]):
            return error(422, "Update is not a fast forward")
        self.refs[branch] = sha
        return Scripted(200, self._ref_body(branch))

    def _create_pull(
        self, request: Recorded, query: dict[str, str], lowered: dict[str, str]
    ) -> Scripted:
        head, base = request.body["head"], request.body["base"]
        if head not in self.refs:
            return validation_failed(
                [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
            )
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls):
            return validation_failed(
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for octocat:{head}.",
                    }
                ]
            )
        body = example("pull-request")
        body.update(
            number=len(self.pulls) + 1,
            title=request.body["title"],
            body=request.body.get("body", ""),
            draft=bool(request.body.get("draft")),
            state="open",
        )
        body["head"].update(ref=head, sha=self.refs[head])
        body["base"].update(ref=base, sha=self.refs[base])
        body.update(html_url=f"https://github.com/{REPO}/pull/{body['number']}", merged=False)
        body.update(merged_at=None)
        listed = example("pull-request-simple-items")[0]
        listed.update(number=body["number"], title=body["title"], draft=body["draft"], state="open")
        listed.update(html_url=body["html_url"], merged_at=None)
        listed["head"].update(ref=head, sha=self.refs[head])
        listed["base"].update(ref=base, sha=self.refs[base])
        self.pulls.append(listed)
        return Scripted(201, body, {"Location": body["url"]})
