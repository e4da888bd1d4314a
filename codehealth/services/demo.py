"""Demo data for `make run`: the project's own checkout as the repository "juggernaut",
with a scan queued for the built-in worker, so a first start shows real findings."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from codehealth.errors import CodehealthError
from codehealth.models import Repository, RepositoryKind
from codehealth.repositories import LocalGitRepository
from codehealth.services.scans import start_scan
from engine.services.history import system_actor

DEMO_NAME = "juggernaut"
# Our own code passes its ruff and mypy gates; these rules, beyond the ones it enforces,
# find real things in it (complex functions, loops that could be comprehensions, ...),
# several with safe fixes that the auto-fix can propose.
DEMO_EXTRA_RULES = ["C90", "FURB", "PERF", "ERA", "BLE"]
# Lets the project's settings module import while mypy's Django plugin reads it; it
# signs nothing.
DEMO_SCAN_ENVIRONMENT = {"SECRET_KEY": "codehealth-type-checking-only"}
DEMO_TEST_COMMAND = "{python} -m pytest -q -x -p no:cacheprovider"


def seed_codehealth_demo() -> str:
    path = settings.CODEHEALTH_DEMO_REPOSITORY
    if not path:
        return "no demo repository (CODEHEALTH_DEMO_REPOSITORY is empty)"
    if Repository.objects.filter(name=DEMO_NAME).exists():
        return "already loaded"
    if not (Path(path) / ".git").exists():
        return f"skipped: {path} is not a git checkout"
    try:
        branch = LocalGitRepository(path).checked_out_branch() or "main"
    except CodehealthError as exc:
        return f"skipped: {exc}"
    repository = Repository.objects.create(
        name=DEMO_NAME,
        kind=RepositoryKind.LOCAL,
        path=str(Path(path).resolve()),
        default_branch=branch,
        test_command=DEMO_TEST_COMMAND,
        lint_extend_select=DEMO_EXTRA_RULES,
        scan_environment=DEMO_SCAN_ENVIRONMENT,
    )
    scan = start_scan(repository=repository, actor=system_actor("demo"))
    return f"repository {DEMO_NAME} ({repository.path}, {branch}); scan #{scan.pk} queued"
