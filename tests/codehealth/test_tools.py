"""The chat tools: registered for the code mode (whose policy allows them), reading code at
a commit, searching it, listing findings, proposing a patch behind an approval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chat.tools import ToolContext, ToolError, tools
from codehealth.models import AutoPR, Repository
from routing.models import Mode, Policy, ToolPermission
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo
from tests.codehealth.test_patches import PATCH

pytestmark = pytest.mark.django_db
NAMES = ["code_findings", "code_propose_patch", "code_read_file", "code_search"]


@pytest.fixture
def repository(make_repo: Callable[..., GitRepo]) -> Repository:
    repo = make_repo({"app.py": "A = 1\nB = 2\n", "lib.py": "import os\n\nLIMIT = 3\n"})
    repository = register(repo)
    scan(repository)
    return repository


def call(name: str, arguments: dict[str, Any], owner: Any = None) -> Any:
    tool = tools.get(name)
    assert tool is not None and tool.argument_errors(arguments) == []
    context = ToolContext(session_id=7, owner_id=owner.pk if owner else None, mode=Mode.CODE)
    return tool.function(context, arguments)


def test_the_code_mode_is_offered_all_four() -> None:
    policy = Policy.objects.get(mode=Mode.CODE)

    offered = [t.name for t in tools.available(mode=Mode.CODE, permissions=policy.tool_permissions)]

    assert set(NAMES) <= set(offered)
    assert tools.get("code_propose_patch").permission == ToolPermission.DANGEROUS  # type: ignore[union-attr]
    assert all(t.permission == ToolPermission.READ for t in map(tools.get, NAMES[:1] + NAMES[2:]))  # type: ignore[union-attr]
    assert "code_search" not in [
        t.name for t in tools.available(mode=Mode.NORMAL, permissions=["read"])
    ]


def test_reading_a_range_of_lines_at_a_commit(repository: Repository) -> None:
    result = call("code_read_file", {"path": "lib.py", "start_line": 3, "end_line": 3})

    assert result["text"] == "LIMIT = 3" and result["total_lines"] == 3
    assert len(result["commit"]) == 40
    with pytest.raises(ToolError, match="no file"):
        call("code_read_file", {"path": "missing.py"})


def test_searching_and_listing_findings(repository: Repository) -> None:
    hits = call("code_search", {"pattern": "LIMIT|B =", "repository": "project"})["hits"]
    findings = call("code_findings", {"severity": "medium"})["findings"]

    assert [(h["path"], h["line"]) for h in hits] == [("app.py", 2), ("lib.py", 3)]
    assert [(f["rule"], f["path"], f["fix"]) for f in findings] == [("F401", "lib.py", "safe")]
    with pytest.raises(ToolError, match="no repository named"):
        call("code_findings", {"repository": "elsewhere"})


def test_proposing_a_patch_makes_an_auto_pr_for_the_sessions_owner(
    repository: Repository, user: Any
) -> None:
    result = call("code_propose_patch", {"diff": PATCH, "title": "B is three"}, owner=user)

    autopr = AutoPR.objects.get(pk=result["autopr"])
    assert autopr.created_by == "chat:session-7"
    assert autopr.task is not None and autopr.task.created_by == user
    with pytest.raises(ToolError, match="does not apply"):
        call("code_propose_patch", {"diff": PATCH.replace("B = 2", "Q"), "title": "bad"})
