"""`make run` registers the project's checkout as "juggernaut" and queues its scan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codehealth.models import Repository, Scan
from codehealth.services.demo import seed_codehealth_demo
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db


def test_the_checkout_is_registered_once_with_a_scan_queued(settings: Any, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "checkout", branch="trunk")
    repo.write("app.py", "import os\n")
    repo.commit()
    settings.CODEHEALTH_DEMO_REPOSITORY = str(repo.root)

    line = seed_codehealth_demo()

    repository = Repository.objects.get(name="juggernaut")
    assert repository.default_branch == "trunk" and repository.test_command
    assert "C90" in repository.lint_extend_select
    assert Scan.objects.get().status == "queued" and "queued" in line
    assert seed_codehealth_demo() == "already loaded"


def test_a_folder_that_is_not_a_checkout_is_skipped(settings: Any, tmp_path: Path) -> None:
    settings.CODEHEALTH_DEMO_REPOSITORY = str(tmp_path)

    assert seed_codehealth_demo().startswith("skipped")
    settings.CODEHEALTH_DEMO_REPOSITORY = ""
    assert "empty" in seed_codehealth_demo()
    assert not Repository.objects.exists()
