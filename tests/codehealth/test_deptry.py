"""deptry's four rules on a small repository made by the test."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from codehealth.models import Finding, ToolRun
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db

PYPROJECT = """\
[project]
name = "shop"
version = "1.0"
dependencies = ["requests>=2", "Django>=5"]

[project.optional-dependencies]
dev = ["psutil>=5"]

[tool.deptry]
pep621_dev_dependency_groups = ["dev"]
"""
HEALTH = "import psutil\nimport frobnicate\nimport urllib3\n"


def test_missing_unused_and_dev_only_dependencies_are_found(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo(
        {
            "shop/__init__.py": "",
            "shop/health.py": HEALTH,
            "shop/views.py": "import django\n",
        },
        config=PYPROJECT,
    )
    repository = register(repo)

    done = scan(repository)

    run = ToolRun.objects.get(scan=done, tool="deptry")
    assert run.status == "ok", run.error
    found = {
        (f.rule, f.path, f.line, f.severity)
        for f in Finding.objects.filter(repository=repository, tool="deptry")
    }
    assert ("DEP001", "shop/health.py", 2, "high") in found  # imported, installed nowhere
    # urllib3: imported, installed only as requests' dependency (in deptry's environment)
    assert ("DEP003", "shop/health.py", 3, "medium") in found
    assert ("DEP004", "shop/health.py", 1, "high") in found  # psutil: dev only, imported
    assert ("DEP002", "pyproject.toml", None, "low") in found  # requests: never imported
    unused = Finding.objects.get(repository=repository, rule="DEP002")
    assert unused.anchor == "requests" and unused.kind == "dependency"

    # The code moves down a few lines: the same findings, not new ones.
    repo.write("shop/health.py", '"""Health."""\n\n' + HEALTH)
    repo.commit("docstring")
    again = scan(repository)
    assert again.new_total == 0 and again.fixed_total == 0


def test_a_repository_declaring_nothing_is_skipped_with_the_reason(
    make_repo: Callable[..., GitRepo],
) -> None:
    done = scan(register(make_repo({"app.py": "import os\n"})))

    run = ToolRun.objects.get(scan=done, tool="deptry")
    assert run.status == "skipped"
    assert run.skip_reason == "no Python dependencies declared at the root"
