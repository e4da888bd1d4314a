from __future__ import annotations

from typing import Any

import pytest

from selfheal.models import AutoHealRule


@pytest.fixture(autouse=True)
def selfheal_alone(monkeypatch: Any) -> None:
    """The repair's own fix tasks, not the opener the incidents app registers above it:
    tests/incidents covers that one."""
    from selfheal import fixes

    monkeypatch.setattr(fixes, "_fix_opener", [])


@pytest.fixture
def no_rules(db: Any) -> None:
    """Start without the rules the data migration installs."""
    AutoHealRule.objects.all().delete()
