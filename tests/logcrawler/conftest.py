"""Fixtures for the log crawler's tests: a fresh fingerprinter per test, rules, Railway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from logcrawler.models import AlertRule
from logcrawler.services import reset_fingerprinter_cache
from tests.logcrawler.fake_railway import FakeRailway


@pytest.fixture(autouse=True)
def fresh_fingerprinter() -> Iterator[None]:
    """Each test's database starts empty; so must the process's groups."""
    reset_fingerprinter_cache()
    yield
    reset_fingerprinter_cache()


@pytest.fixture(autouse=True)
def logcrawler_alone(monkeypatch: Any) -> None:
    """The log crawler's own task for a firing alert (`open_task`), not the opener the
    incidents app registers above it: tests/incidents covers that one."""
    from logcrawler.services import notify

    monkeypatch.setattr(notify, "_task_opener", [])


@pytest.fixture
def no_rules(db: Any) -> None:
    """Start without the rules the data migration installs (a flush may have removed them)."""
    AlertRule.objects.all().delete()


@pytest.fixture
def fake_railway(settings: Any) -> Iterator[FakeRailway]:
    """Railway on 127.0.0.1; after the test, every query the crawler sent must have been
    valid against Railway's schema (a test that sends a bad one on purpose clears
    ``fake.expect_valid``)."""
    fake = FakeRailway().start()
    settings.RAILWAY_API_URL = fake.url
    settings.RAILWAY_TOKEN = fake.token
    settings.RAILWAY_MAX_RETRY_WAIT = 5
    yield fake
    fake.stop()
    if fake.expect_valid:
        assert fake.invalid_requests() == []


@pytest.fixture(autouse=True)
def files_under_the_test_folders(settings: Any, tmp_path_factory: Any) -> None:
    """File sources may follow what the tests write, and nothing else."""
    settings.LOGCRAWLER_FILE_ROOTS = [str(tmp_path_factory.getbasetemp()), str(settings.VAR_DIR)]
