"""Fixtures for the incidents' tests: rules, a fresh fingerprinter, a test git repository
with the service's code, a file source the service logs to."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

from codehealth.models import Repository, RepositoryKind
from engine.models import Task
from engine.worker import WorkerLoop
from incidents.services import INVESTIGATE_KIND
from logcrawler.models import AlertRule, LogSource, RuleKind, SourceKind
from logcrawler.services import reset_fingerprinter_cache
from logcrawler.services.crawl import crawl_source
from tests.codehealth.gitrepo import GitRepo, python_repo
from tests.factories import WorkerFactory

_seed = importlib.import_module("routing.migrations.0002_default_policies_and_prices").seed
_run_limits = importlib.import_module(
    "routing.migrations.0003_policy_run_time_and_retries"
).set_run_limits

PRICING = """\
RATES = {"SE": 0.25, "DE": 0.19}


def price(country, amount):
    return amount * (1 + RATES[country])
"""
FIXED_PRICING = """\
RATES = {"SE": 0.25, "DE": 0.19}


def price(country, amount):
    return amount * (1 + RATES.get(country, 0))
"""


def error_lines(at: datetime, country: str = "NO") -> str:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return (
        f"{stamp} ERROR checkout failed\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/shop/shop/views.py", line 9, in checkout\n'
        "    total = price(cart.country, cart.amount)\n"
        '  File "/srv/shop/shop/pricing.py", line 5, in price\n'
        "    return amount * (1 + RATES[country])\n"
        f"KeyError: '{country}'\n"
    )


@dataclass
class Service:
    """The test's "service": its code in a git repository, its log a file source."""

    repo: GitRepo
    repository: Repository
    log: Path
    source: LogSource

    def log_error(self, at: datetime) -> None:
        with self.log.open("a") as out:
            out.write(error_lines(at))

    def crawl(self, now: datetime) -> None:
        crawl_source(source=self.source, now=now)


@pytest.fixture(autouse=True)
def fresh_fingerprinter() -> Iterator[None]:
    reset_fingerprinter_cache()
    yield
    reset_fingerprinter_cache()


@pytest.fixture
def routing_defaults(db: Any) -> None:
    _seed(apps, None)
    _run_limits(apps, None)


@pytest.fixture
def new_error_rule(db: Any) -> AlertRule:
    AlertRule.objects.all().delete()
    return AlertRule.objects.create(
        name="new errors", kind=RuleKind.NEW_FINGERPRINT, min_level="ERROR"
    )


@pytest.fixture
def service(settings: Any, tmp_path: Path, new_error_rule: AlertRule) -> Service:
    settings.CODEHEALTH_WORK_DIR = tmp_path / "codehealth-work"
    settings.LOGCRAWLER_FILE_ROOTS = [str(tmp_path)]
    repo = python_repo(
        tmp_path / "shop",
        {"shop/__init__.py": "", "shop/pricing.py": PRICING, "shop/views.py": "\n" * 12},
    )
    repository = Repository.objects.create(
        name="shop", kind=RepositoryKind.LOCAL, path=str(repo.root), default_branch=repo.branch()
    )
    log = tmp_path / "logs" / "shop.log"
    log.parent.mkdir()
    log.write_text("")
    source = LogSource.objects.create(
        name="shop-log", kind=SourceKind.FILE, settings={"path": str(log), "service": "shop"}
    )
    return Service(repo=repo, repository=repository, log=log, source=source)


def investigations() -> list[Task]:
    return list(Task.objects.filter(kind=INVESTIGATE_KIND).order_by("id"))


def run_investigations() -> int:
    """Run every investigation task that is due, in this process, as a worker would."""
    loop = WorkerLoop(worker=WorkerFactory(capabilities=[INVESTIGATE_KIND, "codehealth.autopr"]))
    ran = 0
    while loop.run_once(only=[INVESTIGATE_KIND]):
        ran += 1
    return ran
