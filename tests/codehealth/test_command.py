"""manage.py scan_code: a summary or one JSON object; non-zero only when a scan failed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.codehealth.conftest import register
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db


def test_it_prints_a_summary_and_findings_are_no_failure(
    make_repo: Callable[..., GitRepo],
) -> None:
    register(make_repo({"app.py": "import os\n"}))
    out = StringIO()

    call_command("scan_code", "--repo", "project", stdout=out)

    text = out.getvalue()
    assert "project @ " in text and "open: medium 1" in text
    assert (
        "ruff ok, 1 in" in text and "mypy skipped (the repository does not configure mypy)" in text
    )


def test_json_is_one_object(make_repo: Callable[..., GitRepo]) -> None:
    register(make_repo({"app.py": "import os\n"}))
    out = StringIO()

    call_command("scan_code", "--json", stdout=out)

    (scan,) = json.loads(out.getvalue())["scans"]
    assert scan["status"] == "done" and scan["counts"]["open"] == {"medium": 1}
    assert {t["tool"]: t["status"] for t in scan["tools"]}["ruff"] == "ok"


def test_a_failed_scan_exits_non_zero(make_repo: Callable[..., GitRepo]) -> None:
    repo = make_repo({"app.py": "import os\n"})
    register(repo)
    shutil.rmtree(repo.root)

    with pytest.raises(CommandError, match="1 scan"):
        call_command("scan_code", "--repo", "project", stdout=StringIO())
    with pytest.raises(CommandError, match="no repository named"):
        call_command("scan_code", "--repo", "nope", stdout=StringIO())
