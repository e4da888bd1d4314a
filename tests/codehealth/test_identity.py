"""Findings keep their identity through moved, reformatted and renamed code: a corpus of
real commits scanned by real ruff, every finding the same row from the first scan on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from codehealth.models import Finding, FindingState
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo

pytestmark = pytest.mark.django_db

APP = """\
import os
import sys


def check(value=[]):
    if value == None:
        return 1
    unused = 2
    return 0


class Thing(object):
    def method(self, other=None):
        if other == None:
            return None
        return other


def twice(a, b):
    if a == None:
        pass
    if a == None:
        pass
    return b
"""

# Each step rewrites the tree as a developer would; none of them touches a flagged
# construct's meaning, so every finding must stay the same row.
STEPS: list[tuple[str, dict[str, str], list[tuple[str, str]]]] = [
    (
        "lines inserted above everything",
        {"app.py": '"""The app."""\n\nLIMIT = 10\n\n\ndef first():\n    return LIMIT\n\n\n' + APP},
        [],
    ),
    (
        "reformatted: spacing, blank lines, a wrapped signature",
        {
            "app.py": APP.replace("def check(value=[]):", "def check(\n    value = [],\n):")
            .replace("if a == None:", "if a==None :")
            .replace("class Thing(object):", "\n\nclass Thing( object ):")
        },
        [],
    ),
    ("the file renamed", {}, [("app.py", "core/app.py")]),
    (
        "a function moved into a class",
        {
            "core/app.py": APP.replace(
                "def twice(a, b):\n    if a == None:\n        pass\n    if a == None:\n"
                "        pass\n    return b\n",
                "",
            ).replace(
                "        return other\n",
                "        return other\n\n    def twice(self, a, b):\n        if a == None:\n"
                "            pass\n        if a == None:\n            pass\n        return b\n",
            )
        },
        [],
    ),
    (
        "a function moved to another file",
        {
            "core/app.py": APP.replace("def check(value=[]):\n", "def check_moved_away():\n")
            .replace("    if value == None:\n        return 1\n    unused = 2\n", "")
            .replace(
                "def twice(a, b):\n    if a == None:\n        pass\n    if a == None:\n"
                "        pass\n    return b\n",
                "",
            )
            .replace(
                "        return other\n",
                "        return other\n\n    def twice(self, a, b):\n        if a == None:\n"
                "            pass\n        if a == None:\n            pass\n        return b\n",
            ),
            "core/checks.py": "def check(value=[]):\n    if value == None:\n        return 1\n"
            "    unused = 2\n    return 0\n",
        },
        [],
    ),
]


def _identities() -> dict[int, tuple[str, str]]:
    return {
        f.pk: (f.rule, f.state)
        for f in Finding.objects.exclude(state=FindingState.FIXED).order_by("pk")
    }


def test_every_finding_keeps_its_identity_through_the_corpus(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": APP})
    repository = register(repo)
    scan(repository)
    original = _identities()
    assert len(original) == 9  # 2 F401, B006, 4 E711, F841, UP004

    kept: list[str] = []
    for description, files, moves in STEPS:
        for old, new in moves:
            repo.move(old, new)
        for path, text in files.items():
            repo.write(path, text)
        done = scan(repository, repo.commit(description))

        assert _identities() == original, description
        assert done.new_total == 0 and done.fixed_total == 0, description
        kept.append(description)

    assert len(kept) == len(STEPS)  # 100% of the identities held at every step
    assert {f.path for f in Finding.objects.all()} == {"core/app.py", "core/checks.py"}


def test_removing_and_restoring_code_fixes_then_reopens_the_same_finding(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n"})
    repository = register(repo)
    scan(repository)
    finding = Finding.objects.get()

    repo.write("app.py", "X = 1\n")
    fixed = scan(repository, repo.commit("remove"))
    finding.refresh_from_db()
    assert finding.state == FindingState.FIXED and fixed.fixed_total == 1
    assert finding.fixed_in_scan == fixed

    repo.write("app.py", "import os\n")
    back = scan(repository, repo.commit("restore"))
    finding.refresh_from_db()
    assert finding.state == FindingState.REOPENED and back.reopened_total == 1
    assert Finding.objects.count() == 1
    assert list(finding.events.values_list("to_state", flat=True)) == ["fixed", "reopened"]
